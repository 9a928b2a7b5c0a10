"""/etc/rocm-images/build-info.json: what a layer was built from (equals the image labels), plus checks
that must fail the build: the installed aiter has its prebuilt module_mhc.so with a code object for every arch
in GPU_ARCHS, and `aiter.ops.mhc` imports with mhc_pre/mhc_post (aiter's __init__ skips what fails to import)."""

from __future__ import annotations

import argparse
import json
import os
import sys

from .. import UserError
from ..image.aiter_facts import INFO_FILE, aiter_module_mhc, module_mhc_facts
from . import code_objects

# what the sandbox stand-in's module_mhc.so says about itself (images/rocm_base/sandbox-aiter/csrc/module_mhc.c)
STANDIN_MARK = b"sandbox stand-in: no ROCm kernels inside"


def mhc_entry_points() -> str | None:
    """None when `aiter.ops.mhc` imports and resolves mhc_pre and mhc_post; else what failed, in one line."""
    try:
        from aiter.ops import mhc  # noqa: PLC0415  (imported in the image, not by the host)
    except Exception as e:  # noqa: BLE001  (any import failure fails the build the same way)
        return f"`import aiter.ops.mhc` failed: {type(e).__name__}: {e}"
    lacking = [n for n in ("mhc_pre", "mhc_post") if not callable(getattr(mhc, n, None))]
    return f"aiter.ops.mhc lacks {', '.join(lacking)}" if lacking else None


def code_object_archs(data: bytes, gpu_archs: str, name: str = "module_mhc.so") -> tuple[list[str], str | None]:
    """(archs found, error or None): every arch of GPU_ARCHS needs a code object; the stand-in has none and
    says so."""
    if STANDIN_MARK in data:
        print("module_mhc.so: sandbox stand-in, no GPU code objects (not a ROCm build)")
        return [], None
    try:
        found = sorted(code_objects.archs(data, name))
        lacking = code_objects.missing(data, [a for a in gpu_archs.split(";") if a], name)
    except UserError as e:
        return [], str(e)
    if lacking:
        return found, (f"module_mhc.so has code objects for {', '.join(found) or 'no arch'} but GPU_ARCHS needs "
                       f"{', '.join(lacking)} too; rebuild aiter with GPU_ARCHS set")
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
            print(f"error: {problem}; install aiter's requirements (and triton) before aiter", file=sys.stderr)
            return 2
    elif a.require_module_mhc == "1":
        print(f"error: {so} missing after the aiter build: set PREBUILD_KERNELS=1 and GPU_ARCHS, "
              "and make sure torch is importable during the aiter build", file=sys.stderr)
        return 2
    else:
        info["module_mhc"] = None
        print(f"WARNING: {so} missing; allowed only for the negative-control target", file=sys.stderr)
    guard = INFO_FILE.with_name("aiter-guard.json")
    if guard.is_file():
        info["aiter_guard"] = json.loads(guard.read_text())
    INFO_FILE.parent.mkdir(parents=True, exist_ok=True)
    INFO_FILE.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    print(f"build-info: layer {a.layer} recorded in {INFO_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
