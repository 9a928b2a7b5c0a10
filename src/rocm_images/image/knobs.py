"""Entrypoint check of the mHC knobs, using the patched vLLM's own parser. One line per problem.

Runs before `exec` of the container command: bad values stop the container (exit 2) before vLLM starts; risky
settings are warned about. It loads the installed vllm/envs.py on its own (standard library only), so a start
costs a fraction of a second rather than a vLLM import; the patched vLLM logs the mHC path it takes itself.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from pathlib import Path
from types import ModuleType

PREFIX = "[rocm-images]"
KFD_NODES = Path("/sys/class/kfd/kfd/topology/nodes")


def gpu_arch(nodes: Path = KFD_NODES) -> str:
    """gfx name of the first GPU from the KFD topology ('' when none); the sandbox stand-in env otherwise.
    gfx_target_version is major*10000 + minor*100 + stepping (90402 -> gfx942); CPU nodes report 0."""
    for props in sorted(nodes.glob("*/properties")):
        for line in props.read_text().splitlines():
            if line.startswith("gfx_target_version"):
                v = int(line.split()[1])
                if v:
                    major, minor, step = v // 10000, (v // 100) % 100, v % 100
                    return f"gfx{major}{minor:x}{step:x}"
    return os.environ.get("ROCM_IMAGES_STANDIN_GFX", "")


def vllm_envs() -> ModuleType:
    """The installed vllm/envs.py, executed alone: vLLM's own knob parsers without vLLM's package import."""
    spec = importlib.util.find_spec("vllm")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("vLLM is not installed in this image; rebuild it with `make image`")
    path = Path(list(spec.submodule_search_locations)[0]) / "envs.py"
    envs_spec = importlib.util.spec_from_file_location("rocm_images_vllm_envs", path)
    envs = importlib.util.module_from_spec(envs_spec)
    envs_spec.loader.exec_module(envs)
    envs.logger = logging.getLogger("rocm_images.vllm_envs")  # its warnings are restated below, once
    envs.logger.addHandler(logging.NullHandler())
    envs.logger.propagate = False
    return envs


def _strict_flag(envs: ModuleType, name: str, errors: list[str]) -> bool:
    try:
        return envs.strict_bool_env(name, False)
    except ValueError as e:
        errors.append(str(e))
        return False


def check() -> tuple[list[str], list[str]]:
    """(errors, warnings) for the current environment."""
    envs = vllm_envs()
    if "VLLM_ROCM_USE_TILELANG_MHC" not in envs.environment_variables:
        return ["this image's vLLM lacks the DeepSeek-V4 mHC patch series (vllm.envs has no "
                "VLLM_ROCM_USE_TILELANG_MHC); rebuild it with `make image`"], []
    errors: list[str] = []
    warnings: list[str] = []
    try:
        envs.check_removed_envs()
    except ValueError as e:
        errors.append(str(e))
    if os.environ.get("VLLM_ROCM_USE_AITER_MHC", "").strip() and not errors:
        warnings.append(envs.REMOVED_ENVS["VLLM_ROCM_USE_AITER_MHC"])
    # the parent switch too: vLLM reads it leniently, so a typo would silently turn the aiter path off
    aiter = _strict_flag(envs, "VLLM_ROCM_USE_AITER", errors)
    tilelang = _strict_flag(envs, "VLLM_ROCM_USE_TILELANG_MHC", errors)
    if not errors and not aiter and not tilelang:
        warnings.append("VLLM_ROCM_USE_AITER=0: DeepSeek-V4 mHC pre/post run on torch and hc_head on triton "
                        "(no aiter, no tilelang); set VLLM_ROCM_USE_AITER=1 for the aiter path")
    for var in ("AITER_JIT_DIR", "AITER_REBUILD"):
        if os.environ.get(var):
            warnings.append(f"{var} is set: aiter bypasses the prebuilt module_mhc.so and JIT-compiles it at "
                            f"start-up (slow; hangs reported in ROCm/aiter#3635); unset {var}")
    if os.environ.get("TILELANG_CLEAR_CACHE", "").lower() in ("1", "true", "yes", "on"):
        msg = "TILELANG_CLEAR_CACHE=1 makes `import tilelang` raise (tilelang 0.1.9+); unset it"
        (errors if tilelang else warnings).append(msg)
    if tilelang and importlib.util.find_spec("tilelang") is None:
        errors.append("VLLM_ROCM_USE_TILELANG_MHC=1 but tilelang is not installed in this image; "
                      "unset it to use aiter mHC")
    if tilelang and gpu_arch() == "gfx942":
        warnings.append("!!! tilelang mHC on gfx942 gives WRONG OUTPUT (kernels assume 32-wide warps, gfx942 "
                        "waves are 64; vLLM #45698/#56342); unset VLLM_ROCM_USE_TILELANG_MHC on MI300/MI325 !!!")
    return errors, warnings


def main() -> int:
    try:
        errors, warnings = check()
    except RuntimeError as e:
        errors, warnings = [str(e)], []
    for w in warnings:
        print(f"{PREFIX} WARNING: {w}", file=sys.stderr)
    if errors:
        print(f"{PREFIX} error: {errors[0]}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
