"""Entrypoint check of the mHC knobs, using the patched vLLM's own parser. One line per problem.

Runs before `exec` of the container command: bad values stop the container (exit 2) before vLLM starts;
risky settings are warned about; the chosen mHC path is logged.
"""

from __future__ import annotations

import os
import sys
from importlib.util import find_spec
from pathlib import Path

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


def check() -> tuple[list[str], list[str]]:
    """(errors, warnings) for the current environment."""
    import vllm.envs as envs

    if not hasattr(envs, "check_removed_envs"):
        return ["this image's vLLM lacks the DeepSeek-V4 mHC patch series (vllm.envs has no "
                "VLLM_ROCM_USE_TILELANG_MHC); rebuild it with `make image`"], []
    errors: list[str] = []
    warnings: list[str] = []
    try:
        envs.check_removed_envs()
    except ValueError as e:
        errors.append(str(e))
    if "VLLM_ROCM_USE_AITER_MHC" in os.environ and not errors:
        warnings.append(envs.REMOVED_ENVS["VLLM_ROCM_USE_AITER_MHC"])
    try:
        tilelang = envs.VLLM_ROCM_USE_TILELANG_MHC
    except ValueError as e:
        errors.append(str(e))
        tilelang = False
    for var in ("AITER_JIT_DIR", "AITER_REBUILD"):
        if os.environ.get(var):
            warnings.append(f"{var} is set: aiter bypasses the prebuilt module_mhc.so and JIT-compiles it at "
                            f"start-up (slow; hangs reported in ROCm/aiter#3635); unset {var}")
    if os.environ.get("TILELANG_CLEAR_CACHE", "").lower() in ("1", "true", "yes", "on"):
        msg = "TILELANG_CLEAR_CACHE=1 makes `import tilelang` raise (tilelang 0.1.9+); unset it"
        (errors if tilelang else warnings).append(msg)
    if tilelang and find_spec("tilelang") is None:
        errors.append("VLLM_ROCM_USE_TILELANG_MHC=1 but tilelang is not installed in this image; "
                      "unset it to use aiter mHC")
    if tilelang and gpu_arch() == "gfx942":
        warnings.append("!!! tilelang mHC on gfx942 gives WRONG OUTPUT (kernels assume 32-wide warps, gfx942 "
                        "waves are 64; vLLM #45698/#56342); unset VLLM_ROCM_USE_TILELANG_MHC on MI300/MI325 !!!")
    return errors, warnings


def selected_path() -> str:
    """The mHC implementation the patched vLLM picks for DeepSeek-V4's hidden size."""
    from .probe import select

    sel = select()
    so = sel.get("module_mhc_path") or "missing"
    return f"pre={sel['pre']} post={sel['post']} fused_post_pre={sel['fused_post_pre']} (module_mhc: {so})"


def main(argv: list[str] | None = None) -> int:
    argv = argv if argv is not None else sys.argv[1:]
    errors, warnings = check()
    for w in warnings:
        print(f"{PREFIX} WARNING: {w}", file=sys.stderr)
    if errors:
        print(f"{PREFIX} error: {errors[0]}", file=sys.stderr)
        return 2
    if "--entrypoint" in argv and os.environ.get("ROCM_IMAGES_SKIP_PATH_LOG") != "1":
        print(f"{PREFIX} mHC path: {selected_path()}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
