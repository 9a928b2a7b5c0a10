"""Shared fixtures: pins, the repo root, the sandbox images (built once per session by bake)."""

from __future__ import annotations

import pytest

from rocm_images import REPO_ROOT, bake, pins


@pytest.fixture(scope="session")
def pin() -> dict[str, str]:
    return pins.load()


@pytest.fixture(scope="session")
def repo():
    return REPO_ROOT


@pytest.fixture(scope="session")
def sandbox_images() -> list[str]:
    """rocm_base, vllm, vllm-openai built by `bake` (sandbox profile) under the tag `test`."""
    return bake.build("sandbox", ["default"], tag="test")
