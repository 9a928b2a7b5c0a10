"""Build the sandbox's CPU stand-ins for aiter's two compiled modules (images/rocm_base/aiter-cpu) into a directory
that becomes aiter/jit/ content: module_mhc.so (C++, torch's extension toolchain and g++) and module_aiter_core.py.

Runs in the sandbox image build (docker/Dockerfile.sandbox, stage aiter_cpu_modules) and on the host for tests
(tests/aiter_host.py), so both use the same module."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

MODULES = ("module_mhc", "module_aiter_core")


def build(src: Path, out: Path, modules: tuple[str, ...] = MODULES) -> list[Path]:
    """Compile module_mhc.cpp and copy module_aiter_core.py into out (those of `modules`); return what was
    written. The no-module_mhc negative control builds module_aiter_core alone."""
    unknown = set(modules) - set(MODULES)
    if unknown:
        raise SystemExit(f"error: unknown aiter CPU module(s) {', '.join(sorted(unknown))}; "
                         f"known: {', '.join(MODULES)}")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    if "module_mhc" in modules:
        from torch.utils import cpp_extension  # noqa: PLC0415  (torch only where a build runs)

        with tempfile.TemporaryDirectory(prefix="aiter-cpu-") as work:
            cpp_extension.load(name="module_mhc", sources=[str(src / "module_mhc.cpp")], build_directory=work,
                               extra_cflags=["-O2"], verbose=False)
            shutil.copy2(Path(work) / "module_mhc.so", out / "module_mhc.so")
        written.append(out / "module_mhc.so")
    if "module_aiter_core" in modules:
        shutil.copy2(src / "module_aiter_core.py", out / "module_aiter_core.py")
        written.append(out / "module_aiter_core.py")
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--src", type=Path, required=True, help="images/rocm_base/aiter-cpu")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--modules", default=" ".join(MODULES), help="space-separated, of: " + " ".join(MODULES))
    a = ap.parse_args(argv)
    for path in build(a.src, a.out, tuple(a.modules.split())):
        print(f"aiter CPU stand-in: built {path.name} (SANDBOX STAND-IN, no ROCm kernels)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
