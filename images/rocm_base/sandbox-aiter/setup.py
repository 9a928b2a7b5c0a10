"""Stand-in aiter build: PREBUILD_KERNELS=1 compiles module_mhc.so into aiter/jit/ (like the real setup.py)."""

import os
import subprocess
from importlib.util import find_spec
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).parent
VERSION = os.environ.get("AITER_STANDIN_VERSION", "0.1.14") + "+sandbox.standin"


def prebuild() -> None:
    if os.environ.get("PREBUILD_KERNELS") != "1":
        return
    if find_spec("torch") is None:
        print("PREBUILD_KERNELS set but torch not installed, skipping prebuild")
        return
    out = HERE / "aiter" / "jit" / "module_mhc.so"
    archs = os.environ.get("GPU_ARCHS", "")
    print(f"[stand-in] prebuilding module_mhc for GPU_ARCHS={archs!r} (host CPU object, no GPU code)")
    subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-o", str(out), str(HERE / "csrc" / "module_mhc.c")],
                   check=True)


prebuild()
setup(
    name="amd-aiter",
    version=VERSION,
    description="SANDBOX STAND-IN for ROCm/aiter (no ROCm kernels)",
    packages=["aiter", "aiter.jit", "aiter.ops"],
    package_data={"aiter.jit": ["*.so"]},
)
