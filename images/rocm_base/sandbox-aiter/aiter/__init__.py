"""SANDBOX STAND-IN for ROCm/aiter: same import surface for mHC, CPU reference kernels."""

import logging

from .version import __version__  # noqa: F401

SANDBOX_STANDIN = True

logger = logging.getLogger("aiter")
if not logger.handlers:
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("[%(name)s] %(message)s"))
    logger.addHandler(_handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False

from .ops.mhc import mhc_post, mhc_pre  # noqa: E402,F401
