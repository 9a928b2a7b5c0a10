"""Where the image keeps its build facts and aiter's prebuilt module_mhc.so (read by the probe in the image,
written by build_info during the build)."""

from __future__ import annotations

import hashlib
from importlib.util import find_spec
from pathlib import Path

INFO_FILE = Path("/etc/rocm-images/build-info.json")
ELF_MAGIC = b"\x7fELF"
# the functions of module_mhc that aiter/ops/mhc.py binds with compile_ops("module_mhc") (at AITER_BRANCH)
MODULE_MHC_ENTRY_POINTS = ("mhc_pre_gemm_sqrsum", "mhc_pre_big_fuse", "mhc_post")


def aiter_module_mhc() -> Path:
    spec = find_spec("aiter")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("aiter is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "jit" / "module_mhc.so"


def module_mhc_facts(path: Path) -> dict[str, object]:
    data = path.read_bytes()
    return {"path": str(path), "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            "elf": data[:4] == ELF_MAGIC}
