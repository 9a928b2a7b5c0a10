"""Run in a fresh interpreter against a vLLM tree: build the mHC ops on a chosen platform, call them on CPU
tensors of each given shape and print which implementation ran, as JSON keyed by "<hidden>x<hc_mult>". Knobs come
from the environment (one knob set per process: vLLM reads them once)."""

import json
import os
import sys

import torch
from vllm_cpu import record_aiter_calls, set_platform

platform = sys.argv[1]
shapes = [tuple(map(int, shape.split("x"))) for shape in sys.argv[2].split(",")]
results: dict = {}


def aiter_log() -> list[str]:
    path = os.environ["FAKE_AITER_LOG"]
    return open(path).read().split() if os.path.exists(path) else []


def attempt(out: dict, name: str, call):
    try:
        result = call()
        out[name] = "ok"
        return result
    except Exception as e:  # noqa: BLE001 - an error is the result
        out[name] = f"error: {type(e).__name__}: {e}"
        return None


def run_shape(pre, post, hidden: int, hc: int) -> dict:
    from vllm.model_executor.kernels.mhc.torch import mhc_pre_torch

    out: dict = {"rocm_impl": getattr(pre, "rocm_impl", "n/a")}
    seen = len(aiter_log())
    g = torch.Generator().manual_seed(0)
    residual = torch.randn(8, hc, hidden, generator=g).to(torch.bfloat16)
    fn = torch.randn(2 * hc + hc * hc, hc * hidden, generator=g) * 0.02
    scale, base = torch.ones(3), torch.randn(2 * hc + hc * hc, generator=g) * 0.1
    args = (residual, fn, scale, base, 1e-6, 1e-6, 1e-6, 2.0, 3)
    # post runs whatever pre did (its inputs from the torch reference if pre failed): both dispatches are seen
    post_mix, comb, x = attempt(out, "pre", lambda: pre(*args)) or mhc_pre_torch(*args)
    attempt(out, "post", lambda: post(x, residual, post_mix, comb))
    out["aiter_calls"] = aiter_log()[seen:]
    if out["rocm_impl"] == "aiter":  # an empty batch must never reach the kernels, which divide by the count
        empty = [t[:0] for t in (x, residual, post_mix, comb)]
        attempt(out, "zero_tokens", lambda: (pre(residual[:0], *args[1:]), post(*empty)))
    return out


try:
    set_platform(platform)
    record_aiter_calls()
    from vllm.config import VllmConfig, set_current_vllm_config
    from vllm.model_executor.layers import mhc

    with set_current_vllm_config(VllmConfig()):
        pre, post = mhc.MHCPreOp(), mhc.MHCPostOp()
    for hidden, hc in shapes:
        results[f"{hidden}x{hc}"] = run_shape(pre, post, hidden, hc)
except Exception as e:  # noqa: BLE001 - start-up errors are results too
    results["startup_error"] = f"{type(e).__name__}: {e}"


tilelang_log = os.environ["FAKE_TILELANG_LOG"]
results["tilelang_events"] = open(tilelang_log).read().split() if os.path.exists(tilelang_log) else []
print("HARNESS " + json.dumps(results))
