"""/etc/rocm-images/build-info.json: what a layer was built from (equals the image labels), plus checks
that must fail the build: the installed aiter has its prebuilt module_mhc.so with a code object for every arch
in GPU_ARCHS, `aiter.ops.mhc` imports (aiter's __init__ skips what fails to import), and aiter's own loader
imports the module (as at the first mHC call) with the entry points aiter.ops.mhc binds."""

from __future__ import annotations

import argparse
import json
import os
import sys

from .. import UserError
from ..image import code_objects
from ..image.aiter_facts import INFO_FILE, MODULE_MHC_ENTRY_POINTS, aiter_module_mhc, module_mhc_facts


def mhc_entry_points() -> str | None:
    """None when aiter.ops.mhc imports and aiter loads module_mhc the way its first mHC call does
    (aiter.jit.core.get_module: an ImportError such as an undefined symbol surfaces here, not at the first
    forward pass) with the functions aiter.ops.mhc binds; else what failed, in one line."""
    try:
        from aiter.jit.core import get_module  # noqa: PLC0415  (imported in the image, not by the host)
        from aiter.ops import mhc  # noqa: PLC0415,F401  (what vLLM imports; it must import)

        module = get_module("module_mhc")
    except Exception as e:  # noqa: BLE001  (any import failure fails the build the same way)
        return f"aiter cannot load module_mhc: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    lacking = [n for n in MODULE_MHC_ENTRY_POINTS if not callable(getattr(module, n, None))]
    return f"{module.__file__} lacks {', '.join(lacking)}" if lacking else None


def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def code_object_archs(data: bytes, gpu_archs: str, name: str = "module_mhc.so") -> tuple[list[str], str | None]:
    """(archs found, error or None): every arch of GPU_ARCHS needs a code object, in both profiles (the sandbox's
    module carries hipcc's build of aiter's mhc kernels)."""
    try:
        found = sorted(code_objects.archs(data, name))
        lacking = code_objects.missing(data, [a for a in gpu_archs.split(";") if a], name)
    except UserError as e:
        return [], str(e)
    if lacking:
        return found, (f"module_mhc.so has code objects for {', '.join(found) or 'no arch'} but GPU_ARCHS needs "
                       f"{', '.join(lacking)} too; rebuild aiter with GPU_ARCHS set")
    print(f"module_mhc.so: code objects for {', '.join(found)} (GPU_ARCHS {gpu_archs})")
    return found, None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--layer", required=True)
    ap.add_argument("--info", default="{}", help="JSON {labels, label_names} (bake.hcl build_info())")
    # MODULE_MHC_REQUIRED=0 only for the negative-control targets (a build ARG, so visible here)
    ap.add_argument("--require-module-mhc", default=os.environ.get("MODULE_MHC_REQUIRED", "1"))
    ap.add_argument("--gpu-archs", default="", help="archs module_mhc.so must carry code for (GPU_ARCHS)")
    a = ap.parse_args(argv)
    info = json.loads(INFO_FILE.read_text()) if INFO_FILE.is_file() else {}
    given = json.loads(a.info or "{}")
    info.setdefault("labels", {}).update(given.get("labels", {}))
    # the names by role, so code in the image reads a label without naming it (bake.hcl label_names())
    info.setdefault("label_names", {}).update(given.get("label_names", {}))
    info.setdefault("layers", [])
    if a.layer not in info["layers"]:
        info["layers"].append(a.layer)
    so = aiter_module_mhc()
    if so.is_file():
        earlier = info.get("module_mhc") or {}
        info["module_mhc"] = module_mhc_facts(so)
        if "archs" in earlier:  # checked by the rocm_base layer; later layers keep its finding
            info["module_mhc"]["archs"] = earlier["archs"]
        if not info["module_mhc"]["elf"]:
            print(f"error: {so} is not an ELF shared object; rebuild aiter", file=sys.stderr)
            return 2
        if a.gpu_archs:
            info["module_mhc"]["archs"], error = code_object_archs(so.read_bytes(), a.gpu_archs, str(so))
            if error:
                print(f"error: {error}", file=sys.stderr)
                return 2
        problem = mhc_entry_points()
        if problem:
            print(f"error: {problem}; the first mHC call would fail the same way: rebuild aiter against this "
                  "image's torch and ROCm", file=sys.stderr)
            return 2
    elif a.require_module_mhc == "1":
        print(f"error: {so} missing after the aiter build: set PREBUILD_KERNELS=1 and GPU_ARCHS, "
              "and make sure torch is importable during the aiter build", file=sys.stderr)
        return 2
    else:
        info["module_mhc"] = None
        print(f"WARNING: {so} missing; allowed only for the negative-control target", file=sys.stderr)
    if a.layer == "rocm_base" and "triton_in_rocm_base" not in info:
        # what aiter's build left: the wheel set's triton, or none where the set has none (AITER_USE_SYSTEM_TRITON)
        info["triton_in_rocm_base"] = _version("triton")
    guard = INFO_FILE.with_name("aiter-guard.json")
    if guard.is_file():
        info["aiter_guard"] = json.loads(guard.read_text())
    INFO_FILE.parent.mkdir(parents=True, exist_ok=True)
    INFO_FILE.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    print(f"build-info: layer {a.layer} recorded in {INFO_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
