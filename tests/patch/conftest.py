"""The REAL vLLM source (PyPI sdist, sha256-checked, cached): unpatched and patched trees, and the dispatch
harness run in a fresh interpreter per knob combination."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from runner import run_harness

from rocm_images import bake, patches


@pytest.fixture(scope="session")
def upstream_tree(pin) -> Path:
    return bake.vllm_source(pin)

@pytest.fixture(scope="session")
def patched_tree(pin, upstream_tree, tmp_path_factory) -> Path:
    tree = tmp_path_factory.mktemp("vllm") / "patched"
    shutil.copytree(upstream_tree, tree, symlinks=True)
    patches.apply(patches.series(pin["VLLM_REF"]), tree)
    return tree

@pytest.fixture
def harness(tmp_path):
    def run(tree: Path, platform: str = "rocm", hidden: int = 256, tilelang: bool = True, **knobs: str) -> dict:
        return run_harness("harness.py", tree, tmp_path, [platform, str(hidden)], knobs, tilelang)

    return run

