"""The dispatch matrix the patch must produce, shared by the patched test and its negative control.

DeepSeek-V4's real sizes (hidden 4096 and 7168, hc_mult 4) go to aiter under the default knobs; shapes that aiter
v0.1.14's kernels reject (images/rocm_base/aiter-mhc-contract.json: hidden 256 and 512 everywhere, 1024 on gfx950,
any hc_mult but 4, hidden not a multiple of 256) must take the torch fallback, never reach aiter."""

AITER = {"VLLM_ROCM_USE_AITER": "1"}
TILELANG = {"VLLM_ROCM_USE_AITER": "1", "VLLM_ROCM_USE_TILELANG_MHC": "1"}

# (platform, hidden, hc_mult, tilelang installed, knobs) -> expected implementation that ran
CASES = [
    ("rocm", 7168, 4, True, AITER, "aiter"),
    ("rocm", 4096, 4, True, AITER, "aiter"),
    ("rocm", 1280, 4, True, AITER, "aiter"),      # the smallest size aiter's own tests cover
    ("rocm", 7168, 4, False, AITER, "aiter"),
    ("rocm", 256, 4, True, AITER, "native"),      # rejected by aiter: under two residual blocks
    ("rocm", 512, 4, True, AITER, "native"),
    ("rocm", 1024, 4, True, AITER, "native"),     # rejected on gfx950 (the stand-in's arch)
    ("rocm", 200, 4, True, AITER, "native"),      # not a multiple of 256
    ("rocm", 4096, 3, True, AITER, "native"),     # aiter's kernels take hc_mult 4 only
    ("rocm", 4096, 8, True, AITER, "native"),
    ("rocm", 7168, 4, True, TILELANG, "tilelang"),
    ("rocm", 7168, 4, True, {"VLLM_ROCM_USE_AITER": "0"}, "native"),
    ("rocm", 7168, 4, True, {}, "native"),
    ("rocm", 7168, 4, True, {"VLLM_ROCM_USE_TILELANG_MHC": "1"}, "tilelang"),
    ("rocm", 7168, 4, False, TILELANG, "startup-error"),
    ("cuda", 7168, 4, True, {}, "tilelang"),
    ("cuda", 7168, 4, True, AITER, "tilelang"),
]


def ran(result: dict) -> str:
    """Which implementation the harness observed."""
    if "startup_error" in result:
        return "startup-error"
    if result["aiter_calls"] == ["mhc_pre", "mhc_post"] and result.get("post") == "ok":
        return "aiter"
    if result["tilelang_events"]:
        return "tilelang"
    if result.get("pre") == "ok" and result.get("post") == "ok" and not result["aiter_calls"]:
        return "native"
    return f"unexpected: {result}"


def case_id(case) -> str:
    platform, hidden, hc, installed, knobs, _ = case
    k = ",".join(f"{a.removeprefix('VLLM_ROCM_USE_')}={b}" for a, b in knobs.items()) or "defaults"
    return f"{platform}-h{hidden}-hc{hc}-{'tl' if installed else 'notl'}-{k}"
