"""Build the sandbox's CPU stand-ins for aiter's two compiled modules (images/rocm_base/aiter-cpu) into a directory
that becomes aiter/jit/ content: module_mhc.so (C++, torch's extension toolchain and g++) and module_aiter_core.py.

module_mhc.so's device side is real: with --aiter, hipcc compiles aiter's own csrc/kernels/mhc_kernels.cu for every
arch of --gpu-archs (device code only: the host launchers need ROCm torch) and the offload bundle goes into the
module's .hip_fatbin section, where a HIP build keeps it.

Runs in the sandbox image build (docker/Dockerfile.sandbox, stage aiter_cpu_modules) and on the host for tests
(tests/aiter_host.py), so both use the same module."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

MODULES = ("module_mhc", "module_aiter_core")
MHC_KERNELS = "csrc/kernels/mhc_kernels.cu"
# aiter's own defines for a CK build (aiter/jit/core.py: ENABLE_CK=1); the two others are for the sandbox's CK
# (versions.env CK_COMMIT, 2024-10): clang 22 rejects some of its constexpr code, and it predates gfx950, whose
# ck_tile code paths it selects by the gfx9 family macro
DEVICE_FLAGS = ("-O3", "-std=c++20", "-DENABLE_CK=1", "-Wno-invalid-constexpr", "-D__gfx9__")


def device_bundle(aiter: Path, ck_include: Path, standin_include: Path, archs: list[str], out: Path) -> Path:
    """hipcc's offload bundle of mhc_kernels.cu's device code for `archs` (hipcc on PATH)."""
    from torch.utils import cpp_extension  # noqa: PLC0415

    if not archs:
        raise SystemExit("error: no GPU arch to compile aiter's mhc kernels for; set GPU_ARCHS")
    includes = [standin_include, aiter / "csrc" / "include", ck_include, *cpp_extension.include_paths(),
                sysconfig.get_paths()["include"]]
    cmd = ["hipcc", "--genco", *(f"--offload-arch={a}" for a in archs), *DEVICE_FLAGS,
           *(f"-I{p}" for p in includes),
           # Debian's Python.h includes its multiarch pyconfig.h by a system path: this image's, searched last
           # (hipcc compiles against its own root's headers, --sysroot)
           "-idirafter", "/usr/include", str(aiter / MHC_KERNELS), "-o", str(out)]
    if subprocess.run(cmd).returncode != 0:
        raise SystemExit(f"error: hipcc could not compile {MHC_KERNELS} for {', '.join(archs)} (output above)")
    return out


def build(src: Path, out: Path, modules: tuple[str, ...] = MODULES, device: dict | None = None) -> list[Path]:
    """Compile module_mhc.cpp and copy module_aiter_core.py into out (those of `modules`); return what was
    written. The no-module_mhc negative control builds module_aiter_core alone. device: device_bundle's keyword
    arguments but `out`, whose bundle becomes module_mhc.so's .hip_fatbin section."""
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
            if device is not None:
                bundle = device_bundle(**device, out=Path(work) / "mhc_kernels.hipfb")
                subprocess.run(["objcopy", "--add-section", f".hip_fatbin={bundle}", str(out / "module_mhc.so")],
                               check=True)
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
    ap.add_argument("--aiter", type=Path, help="aiter's source: compile its mhc kernels into module_mhc.so")
    ap.add_argument("--ck-include", type=Path, help="composable_kernel's include/ (ck_tile)")
    ap.add_argument("--gpu-archs", default="", help="GPU_ARCHS: the archs of the device code")
    a = ap.parse_args(argv)
    device = None if a.aiter is None else {
        "aiter": a.aiter, "ck_include": a.ck_include, "standin_include": a.src / "standin-include",
        "archs": [x for x in a.gpu_archs.split(";") if x]}
    for path in build(a.src, a.out, tuple(a.modules.split()), device):
        what = "its host side a CPU build" if path.name == "module_mhc.so" and device else "no ROCm code"
        print(f"aiter CPU stand-in: built {path.name} (SANDBOX STAND-IN: {what})")
    if device is not None and "module_mhc" in a.modules.split():
        print(f"aiter module_mhc.so: device code of aiter's {MHC_KERNELS} compiled by hipcc for "
              f"{', '.join(device['archs'])} (real code objects; they cannot run here)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
