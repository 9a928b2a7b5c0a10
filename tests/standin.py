"""The sandbox aiter stand-in (images/rocm_base/sandbox-aiter) on the host: the tests that run vLLM's aiter path
use the same stand-in the sandbox image ships, with aiter's contract checks, not a looser fake."""

from __future__ import annotations

import functools
import subprocess
import tempfile
from pathlib import Path

from rocm_images import REPO_ROOT

AITER = REPO_ROOT / "images" / "rocm_base" / "sandbox-aiter"


@functools.cache
def module_mhc_dir() -> Path:
    """A directory holding the stand-in's module_mhc.so, built as its setup.py builds it (for AITER_JIT_DIR)."""
    out = Path(tempfile.mkdtemp(prefix="standin-aiter-jit-"))
    subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-o", str(out / "module_mhc.so"),
                    str(AITER / "csrc" / "module_mhc.c")], check=True)
    return out
