"""The REAL vLLM source (PyPI sdist, sha256-checked, cached): unpatched and patched trees, and a runner
for harness.py in a fresh interpreter per knob combination."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rocm_images import REPO_ROOT, bake, patches

HERE = Path(__file__).parent
STANDINS = REPO_ROOT / "images" / "vllm" / "sandbox-standins"  # amdsmi reporting a GPU: ROCm platform on CPU


@pytest.fixture(scope="session")
def upstream_tree(pin) -> Path:
    return bake.vllm_source(pin)


@pytest.fixture(scope="session")
def patched_tree(pin, upstream_tree, tmp_path_factory) -> Path:
    tree = tmp_path_factory.mktemp("vllm") / "patched"
    shutil.copytree(upstream_tree, tree, symlinks=True)
    patches.apply(patches.series(pin["VLLM_REF"]), tree)
    return tree


def run_harness(tree: Path, tmp: Path, platform: str, hidden: int, knobs: dict[str, str],
                tilelang_installed: bool) -> dict:
    paths = [tree, STANDINS, HERE / "fakes"] + ([HERE / "fakes_tilelang"] if tilelang_installed else [])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VLLM_", "PYTHONPATH"))}
    env.update(knobs, PYTHONPATH=os.pathsep.join(map(str, paths)),
               FAKE_AITER_LOG=str(tmp / "aiter.log"), FAKE_TILELANG_LOG=str(tmp / "tilelang.log"))
    for log in ("aiter.log", "tilelang.log"):
        (tmp / log).unlink(missing_ok=True)
    proc = subprocess.run([sys.executable, str(HERE / "harness.py"), platform, str(hidden)], env=env,
                          capture_output=True, text=True, timeout=300)
    line = [x for x in proc.stdout.splitlines() if x.startswith("HARNESS ")]
    assert line, proc.stdout[-2000:] + proc.stderr[-3000:]
    return json.loads(line[0][8:])


@pytest.fixture
def harness(tmp_path):
    def run(tree: Path, platform: str = "rocm", hidden: int = 256, tilelang: bool = True, **knobs: str) -> dict:
        return run_harness(tree, tmp_path, platform, hidden, knobs, tilelang)

    return run
