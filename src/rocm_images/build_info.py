"""/etc/rocm-images/build-info.json: what a layer was built from (equals the image labels), plus checks
that must fail the build: module_mhc.so present in the installed aiter."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from importlib.util import find_spec
from pathlib import Path

INFO_FILE = Path("/etc/rocm-images/build-info.json")
ELF_MAGIC = b"\x7fELF"


def aiter_module_mhc() -> Path:
    spec = find_spec("aiter")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("aiter is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "jit" / "module_mhc.so"


def module_mhc_facts(path: Path) -> dict[str, object]:
    data = path.read_bytes()
    return {"path": str(path), "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            "elf": data[:4] == ELF_MAGIC}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--layer", required=True)
    ap.add_argument("--info", default="{}", help="JSON object of the image labels (from bake)")
    # MODULE_MHC_REQUIRED=0 only for the negative-control targets (a build ARG, so visible here)
    ap.add_argument("--require-module-mhc", default=os.environ.get("MODULE_MHC_REQUIRED", "1"))
    a = ap.parse_args(argv)
    info = json.loads(INFO_FILE.read_text()) if INFO_FILE.is_file() else {}
    info.setdefault("labels", {}).update(json.loads(a.info or "{}"))
    info.setdefault("layers", [])
    if a.layer not in info["layers"]:
        info["layers"].append(a.layer)
    so = aiter_module_mhc()
    if so.is_file():
        info["module_mhc"] = module_mhc_facts(so)
        if not info["module_mhc"]["elf"]:
            print(f"error: {so} is not an ELF shared object; rebuild aiter", file=sys.stderr)
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
