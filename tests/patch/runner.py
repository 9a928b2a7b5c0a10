"""Runs a harness script against a vLLM tree in a fresh interpreter (vLLM registers its ops once per process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import aiter_host

from rocm_images import REPO_ROOT

HERE = Path(__file__).parent
AMDSMI = REPO_ROOT / "images" / "rocm_base" / "sandbox-amdsmi"  # amdsmi reporting a GPU: ROCm platform on CPU


def run_harness(script: str, tree: Path, tmp: Path, args: list[str], knobs: dict[str, str],
                tilelang_installed: bool) -> dict:
    """The JSON object the script printed after "HARNESS "."""
    # aiter: the real aiter at AITER_BRANCH with the sandbox's CPU module_mhc (its wrapper, loader and input
    # checks), as in the sandbox image
    paths = [tree, AMDSMI] + ([HERE / "fakes_tilelang"] if tilelang_installed else [])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VLLM_", "PYTHONPATH", "AITER_"))}
    env = aiter_host.env(env, tuple(paths))
    env.update(knobs, FAKE_AITER_LOG=str(tmp / "aiter.log"), FAKE_TILELANG_LOG=str(tmp / "tilelang.log"))
    for log in ("aiter.log", "tilelang.log"):
        (tmp / log).unlink(missing_ok=True)
    proc = subprocess.run([sys.executable, str(HERE / script), *args], env=env,
                          capture_output=True, text=True, timeout=300)
    line = [x for x in proc.stdout.splitlines() if x.startswith("HARNESS ")]
    assert line, proc.stdout[-2000:] + proc.stderr[-3000:]
    return json.loads(line[0][8:])
