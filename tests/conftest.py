"""Shared fixtures: pins and the repo root. Image fixtures live in tests/image/conftest.py."""

from __future__ import annotations

import pytest

from rocm_images import REPO_ROOT, pins


@pytest.fixture(scope="session")
def pin() -> dict[str, str]:
    return pins.load()


@pytest.fixture(scope="session")
def repo():
    return REPO_ROOT
