"""SANDBOX STAND-IN for amdsmi: reports one AMD GPU so vLLM selects its ROCm platform on a CPU-only host.

The arch comes from ROCM_IMAGES_STANDIN_GFX (default gfx950). Only the calls vLLM's platform probe makes.
"""

import os


class AmdSmiException(Exception):
    pass


def amdsmi_init(*_args, **_kwargs) -> None:
    return None


def amdsmi_shut_down() -> None:
    return None


def amdsmi_get_processor_handles() -> list[str]:
    return ["standin-gpu-0"]


def amdsmi_get_gpu_asic_info(_handle) -> dict[str, str]:
    gfx = os.environ.get("ROCM_IMAGES_STANDIN_GFX", "gfx950")
    return {"market_name": f"sandbox stand-in ({gfx})", "target_graphics_version": gfx}


def amdsmi_get_gpu_device_uuid(_handle) -> str:
    return "00000000-0000-0000-0000-000000000000"


def amdsmi_topo_get_link_type(_a, _b) -> dict[str, int]:
    return {"hops": 0, "type": 0}


def amdsmi_topo_get_numa_node_number(_handle) -> int:
    return 0
