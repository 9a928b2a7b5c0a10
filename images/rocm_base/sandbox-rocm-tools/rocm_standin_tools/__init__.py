"""SANDBOX STAND-IN for hipconfig and rocminfo, in the formats aiter parses.

hipconfig --version: "<major>.<minor>.<patch>-<build>" (aiter reads the first two numbers). rocminfo: one CPU agent,
then one GPU agent whose Name, Device Type and Compute Unit lines aiter's regexes read. The arch comes from
ROCM_IMAGES_STANDIN_GFX (default gfx950), as the sandbox amdsmi and module_mhc read it."""

import os
import sys

# ROCm 7.2's HIP version as `hipconfig --version` prints it (HIP 7.2.53211 in ROCm 7.2), tagged as a stand-in
HIP_VERSION = "7.2.53211-sandbox.standin"
CU_NUM = {"gfx942": 304, "gfx950": 256}  # MI300X, MI355X


def _gfx() -> str:
    return os.environ.get("ROCM_IMAGES_STANDIN_GFX") or "gfx950"


def hipconfig() -> int:
    args = sys.argv[1:]
    if args in (["--version"], ["-v"]):
        print(HIP_VERSION, end="")
        return 0
    if args in (["--platform"], ["-P"]):
        print("amd", end="")
        return 0
    print(f"hipconfig: SANDBOX STAND-IN answers only --version and --platform, not {' '.join(args)}",
          file=sys.stderr)
    return 2


def rocminfo() -> int:
    gfx = _gfx()
    print("ROCk module is NOT loaded: SANDBOX STAND-IN (no ROCm, no GPU)")
    print("=====================\nHSA Agents\n==========")
    print("*******\nAgent 1\n*******\n  Name:                    sandbox-cpu\n  Device Type:             CPU")
    print(f"*******\nAgent 2\n*******\n  Name:                    {gfx}\n"
          f"  Marketing Name:          SANDBOX STAND-IN ({gfx})\n  Device Type:             GPU\n"
          f"  Compute Unit:            {CU_NUM.get(gfx, 256)}")
    return 0
