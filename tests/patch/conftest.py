"""The REAL vLLM source (PyPI sdist, sha256-checked, cached): unpatched and patched trees, and the dispatch
harness run in a fresh interpreter per knob combination."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dispatch_cases import CASES
from runner import run_harness

from rocm_images.host import graph
from rocm_images.stages import patches


@pytest.fixture(scope="session")
def upstream_tree(pin) -> Path:
    return graph.vllm_source(pin)

@pytest.fixture(scope="session")
def patched_tree(pin, upstream_tree, tmp_path_factory) -> Path:
    tree = tmp_path_factory.mktemp("vllm") / "patched"
    shutil.copytree(upstream_tree, tree, symlinks=True)
    patches.apply(patches.series(pin["VLLM_REF"]), tree)
    return tree

@pytest.fixture(scope="session")
def dispatch(tmp_path_factory):
    """dispatch(tree, case) -> what the harness saw for that case. Cases that share a tree, platform, tilelang
    and knobs run in one interpreter (vLLM reads its knobs once per process), each shape separately."""
    groups: dict[tuple, dict] = {}

    def run(tree: Path, case: tuple) -> dict:
        platform, hidden, hc, installed, knobs, _ = case
        key = (str(tree), platform, installed, tuple(sorted(knobs.items())))
        if key not in groups:
            shapes = sorted({f"{c[1]}x{c[2]}" for c in CASES if (c[0], c[3], c[4]) == (platform, installed, knobs)})
            groups[key] = run_harness("harness.py", tree, tmp_path_factory.mktemp("dispatch"),
                                      [platform, ",".join(shapes)], knobs, installed)
        found = groups[key]
        if "startup_error" in found:
            return {"startup_error": found["startup_error"], "tilelang_events": found["tilelang_events"]}
        return {**found[f"{hidden}x{hc}"], "tilelang_events": found["tilelang_events"]}

    return run
