"""The sandbox's aiter on the host, for the tests that run vLLM's aiter path outside an image: the real aiter at
AITER_BRANCH (cloned from AITER_MIRROR when set, else AITER_REPO, as the sandbox build does) with the CPU builds
of module_mhc and module_aiter_core in its aiter/jit (built by the same stages/aiter_cpu.py as the image), and
the stand-in hipconfig and rocminfo on PATH. What runs on top is aiter's own Python: its wrapper and loader."""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from rocm_images import REPO_ROOT
from rocm_images.host import aiter_mirror
from rocm_images.stages import aiter_cpu, pins

CPU_SRC = REPO_ROOT / "images" / "rocm_base" / "aiter-cpu"
TOOLS_SRC = REPO_ROOT / "images" / "rocm_base" / "sandbox-rocm-tools"
WORK = REPO_ROOT / "build" / "aiter-host"


def _source(pin: dict[str, str]) -> str:
    mirror = aiter_mirror.configured()
    return str(mirror) if mirror else pin["AITER_REPO"]


def _stamp() -> str:
    h = hashlib.sha256()
    for f in sorted(p for p in CPU_SRC.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(CPU_SRC)).encode() + f.read_bytes())
    return h.hexdigest()


@functools.cache
def checkout(branch: str) -> Path:
    """A full clone of real aiter, checked out at `branch` (as the aiter_clone stage makes it)."""
    root = WORK / branch
    if not (root / ".git").is_dir():
        shutil.rmtree(root, ignore_errors=True)
        root.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "clone", "--quiet", _source(pins.load()), str(root)], check=True, capture_output=True)
        subprocess.run(["git", "-C", str(root), "checkout", "--quiet", branch], check=True)
    return root


@functools.cache
def tree() -> Path:
    """The checkout of AITER_BRANCH whose aiter/jit holds the CPU modules."""
    root = checkout(pins.load()["AITER_BRANCH"])
    stamp = root / "aiter" / "jit" / ".cpu-modules"
    if not stamp.is_file() or stamp.read_text() != _stamp():
        aiter_cpu.build(CPU_SRC, root / "aiter" / "jit")
        stamp.write_text(_stamp())
    return root


@functools.cache
def tools_bin() -> Path:
    """hipconfig and rocminfo: the sandbox's stand-ins, run by this interpreter."""
    out = WORK / "bin"
    out.mkdir(parents=True, exist_ok=True)
    for tool in ("hipconfig", "rocminfo"):
        script = out / tool
        script.write_text(f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(TOOLS_SRC)!r})\n"
                          f"from rocm_standin_tools import {tool}\nsys.exit({tool}())\n")
        script.chmod(0o755)
    return out


def env(base: dict[str, str] | None = None, paths: tuple[Path, ...] = ()) -> dict[str, str]:
    """An environment in which `import aiter` finds the real package, its CPU modules and the stand-in tools."""
    out = dict(os.environ if base is None else base)
    out["PYTHONPATH"] = os.pathsep.join([*map(str, paths), str(tree())])
    out["PATH"] = f"{tools_bin()}{os.pathsep}{out.get('PATH', '')}"
    out["ROCM_PATH"] = "/opt/rocm"  # where aiter looks for ROCm (aiter/jit/utils/cpp_extension.py:97)
    return out
