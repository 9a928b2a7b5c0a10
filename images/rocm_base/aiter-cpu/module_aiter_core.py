"""SANDBOX STAND-IN for aiter's module_aiter_core (csrc/pybind/aiter_core_pybind.cu, AITER_CORE_PYBIND in
csrc/include/rocm_ops.hpp:18): the enums and types `import aiter` reads from it, no HIP inside.

aiter's compile_ops (aiter/jit/core.py:1497) tells an enum from a function by its pybind docstring, which starts
with "Members:"; the values are those of csrc/include/aiter_enum.h."""

import enum

__standin__ = "sandbox stand-in: Python module_aiter_core, no ROCm inside"


class QuantType(enum.IntEnum):
    """Members:

    No, per_Tensor, per_Token, per_1x32, per_1x128, per_128x128, per_256x128, per_1024x128"""

    No = 0
    per_Tensor = 1
    per_Token = 2
    per_1x32 = 3
    per_1x128 = 4
    per_128x128 = 5
    per_256x128 = 6
    per_1024x128 = 7


class ActivationType(enum.IntEnum):
    """Members:

    No, Silu, Gelu, Swiglu"""

    No = -1
    Silu = 0
    Gelu = 1
    Swiglu = 2


class aiter_tensor_t:  # noqa: N801  (aiter's name)
    """aiter_tensor_t(data_ptr, numel, ndim, shape, strides, dtype, device_id): a tensor view for C++ ops."""

    def __init__(self, data_ptr: int = 0, numel: int = 0, ndim: int = 0, shape: list[int] | None = None,
                 strides: list[int] | None = None, dtype: int = 0, device_id: int = -1) -> None:
        self.ptr, self.numel_, self.ndim = data_ptr, numel, ndim
        self.shape, self.strides = list(shape or []), list(strides or [])
        self.dtype_, self.device_id = dtype, device_id


def _set_current_hip_stream(stream_ptr: int) -> None:
    """_set_current_hip_stream(stream_ptr: int) -> None: no HIP streams on a CPU."""
