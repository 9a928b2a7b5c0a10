"""Run in a fresh interpreter against a vLLM tree: build the mHC ops on a chosen platform, call them on
CPU tensors and print which implementation ran, as JSON. Knobs come from the environment."""

import json
import os
import sys

import torch
from vllm_cpu import set_platform

platform = sys.argv[1]
hidden = int(sys.argv[2])
out: dict = {"platform": platform, "hidden": hidden}
try:
    set_platform(platform)
    from vllm.config import VllmConfig, set_current_vllm_config
    from vllm.model_executor.layers import mhc

    with set_current_vllm_config(VllmConfig()):
        pre, post = mhc.MHCPreOp(), mhc.MHCPostOp()
    out["rocm_impl"] = getattr(pre, "rocm_impl", "n/a")
    hc, tokens = 4, 3
    g = torch.Generator().manual_seed(0)
    residual = torch.randn(tokens, hc, hidden, generator=g).to(torch.bfloat16)
    fn = torch.randn(2 * hc + hc * hc, hc * hidden, generator=g) * 0.02
    scale, base = torch.ones(3), torch.randn(2 * hc + hc * hc, generator=g) * 0.1
    for name, call in (("pre", lambda: pre(residual, fn, scale, base, 1e-6, 1e-6, 1e-6, 2.0, 3)),):
        try:
            post_mix, comb, x = call()
            out[name] = "ok"
        except Exception as e:  # noqa: BLE001
            out[name] = f"error: {type(e).__name__}: {e}"
    if out.get("pre") == "ok":
        try:
            post(x, residual, post_mix, comb)
            out["post"] = "ok"
        except Exception as e:  # noqa: BLE001
            out["post"] = f"error: {type(e).__name__}: {e}"
except Exception as e:  # noqa: BLE001 - start-up errors are results too
    out["startup_error"] = f"{type(e).__name__}: {e}"


def _lines(var: str) -> list[str]:
    path = os.environ[var]
    return open(path).read().split() if os.path.exists(path) else []


out["aiter_calls"] = _lines("FAKE_AITER_LOG")
out["tilelang_events"] = _lines("FAKE_TILELANG_LOG")
print("HARNESS " + json.dumps(out))
