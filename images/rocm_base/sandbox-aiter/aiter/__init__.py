"""SANDBOX STAND-IN for ROCm/aiter: same import surface for mHC, CPU reference kernels."""

import logging

from .version import __version__  # noqa: F401

# like aiter: its own INFO-level handler with the "[aiter] ..." format, whatever else is attached
logger = logging.getLogger("aiter")
logger.setLevel(logging.INFO)
logger.propagate = False
if not any(isinstance(h, logging.StreamHandler) for h in logger.handlers):
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("[%(name)s] %(message)s"))
    logger.addHandler(_handler)

from .ops.mhc import mhc_post, mhc_pre  # noqa: E402,F401
