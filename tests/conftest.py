"""Shared fixtures: pins, the repo root, the sandbox images (built once per session by bake). Everything the
suite builds is named under cleanup.TEST_PREFIX (IMAGE_PREFIX is set for the whole session) and removed by the
last test, tests/cleanup (KEEP_TEST_IMAGES=1 keeps it for debugging)."""

from __future__ import annotations

import os
import subprocess

import pytest

from rocm_images import REPO_ROOT
from rocm_images.host import cleanup, graph, transaction
from rocm_images.stages import pins

os.environ["IMAGE_PREFIX"] = cleanup.TEST_PREFIX


@pytest.fixture(scope="session", autouse=True)
def images_before() -> set[str]:
    """What the engine held before the suite built anything (the last test compares against it)."""
    out = subprocess.run(["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}"], capture_output=True,
                         text=True)
    return set(out.stdout.split()) if out.returncode == 0 else set()


@pytest.fixture(scope="session")
def pin() -> dict[str, str]:
    return pins.load()


@pytest.fixture(scope="session")
def label() -> dict[str, str]:
    """Label names by role, as bake.hcl's label_names() has them: tests name a label by its role."""
    return graph.label_names()


@pytest.fixture(scope="session")
def repo():
    return REPO_ROOT


@pytest.fixture(scope="session")
def sandbox_images() -> dict[str, list[str]]:
    """rocm_base, vllm, vllm-openai built by `bake` (sandbox profile) under the tag `test`."""
    return transaction.build("sandbox", ["default"], tag="test")
