"""Module loader with the real aiter's observable behaviour: where it looks and what it logs."""

import ctypes
import logging
import os
from pathlib import Path

logger = logging.getLogger("aiter")
_loaded: dict[str, ctypes.CDLL] = {}


def module_dir() -> Path:
    # AITER_JIT_DIR redirects aiter away from the prebuilt modules shipped in the package
    return Path(os.environ.get("AITER_JIT_DIR") or Path(__file__).parent)


def get_module(name: str) -> ctypes.CDLL:
    if name in _loaded:
        return _loaded[name]
    path = module_dir() / f"{name}.so"
    if os.environ.get("AITER_REBUILD") == "1" and path.exists():
        path.unlink()
    if not path.exists():
        logger.info("start build [%s] under %s", name, path.parent)
        raise RuntimeError(f"[sandbox stand-in] cannot JIT-build {name}: no ROCm toolchain in the sandbox")
    lib = ctypes.CDLL(str(path))
    lib.aiter_module_name.restype = ctypes.c_char_p
    if lib.aiter_module_name().decode() != name or lib.aiter_module_abi() != 1:
        raise RuntimeError(f"{path} is not a {name} module")
    logger.info("import [%s] under %s", name, path)
    _loaded[name] = lib
    return lib
