"""The dispatch matrix the patch must produce, shared by the patched test and its negative control."""

# (platform, hidden, tilelang installed, knobs) -> expected (implementation that ran, tilelang events)
CASES = [
    ("rocm", 256, True, {"VLLM_ROCM_USE_AITER": "1"}, "aiter", []),
    ("rocm", 7168, True, {"VLLM_ROCM_USE_AITER": "1"}, "aiter", []),
    ("rocm", 200, True, {"VLLM_ROCM_USE_AITER": "1"}, "native", []),
    ("rocm", 256, False, {"VLLM_ROCM_USE_AITER": "1"}, "aiter", []),
    ("rocm", 256, True, {"VLLM_ROCM_USE_AITER": "1", "VLLM_ROCM_USE_TILELANG_MHC": "1"}, "tilelang", ["import"]),
    ("rocm", 256, True, {"VLLM_ROCM_USE_AITER": "0"}, "native", []),
    ("rocm", 256, True, {}, "native", []),
    ("rocm", 256, True, {"VLLM_ROCM_USE_TILELANG_MHC": "1"}, "tilelang", ["import"]),
    ("rocm", 256, False, {"VLLM_ROCM_USE_AITER": "1", "VLLM_ROCM_USE_TILELANG_MHC": "1"}, "startup-error", []),
    ("cuda", 256, True, {}, "tilelang", ["import"]),
    ("cuda", 256, True, {"VLLM_ROCM_USE_AITER": "1"}, "tilelang", ["import"]),
]


def ran(result: dict) -> str:
    """Which implementation the harness observed."""
    if "startup_error" in result:
        return "startup-error"
    if result["aiter_calls"] == ["mhc_pre", "mhc_post"]:
        return "aiter"
    if result["tilelang_events"]:
        return "tilelang"
    if result.get("pre") == "ok" and result.get("post") == "ok" and not result["aiter_calls"]:
        return "native"
    return f"unexpected: {result}"


def case_id(case) -> str:
    platform, hidden, installed, knobs, _, _ = case
    k = ",".join(f"{a.removeprefix('VLLM_ROCM_USE_')}={b}" for a, b in knobs.items()) or "defaults"
    return f"{platform}-h{hidden}-{'tl' if installed else 'notl'}-{k}"
