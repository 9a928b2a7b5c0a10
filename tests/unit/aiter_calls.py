"""Run aiter mHC calls in a fresh interpreter (aiter caches the arch and CU count per process): the real aiter's
aiter.ops.mhc over the CPU module_mhc. Reads [{op, hidden, hc, tokens, dtype?, fn_rows?}, ...] as JSON from
argv[1]; prints one line "RESULTS <json>" with, per call, the error (type, message) or the returned shapes and a
digest of the values. The arch is ROCM_IMAGES_STANDIN_GFX, set by the caller."""

import json
import sys

import torch
from aiter.ops import mhc


def call(op: str, hidden: int, hc: int, tokens: int, dtype: str = "bfloat16", fn_rows: int | None = None):
    g = torch.Generator().manual_seed(0)
    hc3 = 2 * hc + hc * hc
    residual = torch.randn(tokens, hc, hidden, generator=g).to(getattr(torch, dtype))
    if op == "mhc_pre":
        fn = torch.randn(fn_rows or hc3, hc * hidden, generator=g) * 0.02
        return mhc.mhc_pre(residual, fn, torch.ones(3), torch.zeros(hc3), 1e-6, 1e-6, 1e-6, 2.0, 3)
    out = torch.empty_like(residual)
    post, comb = torch.rand(tokens, hc, 1, generator=g), torch.rand(tokens, hc, hc, generator=g)
    ret = mhc.mhc_post(out, residual[:, 0].clone(), residual, post, comb)
    return ret, out


def describe(value):
    if isinstance(value, torch.Tensor):
        return {"shape": list(value.shape), "dtype": str(value.dtype).removeprefix("torch."),
                "abs_sum": float(value.float().abs().sum())}
    if isinstance(value, tuple):
        return [describe(v) for v in value]
    return repr(value)


results = []
for example in json.loads(open(sys.argv[1]).read()):
    try:
        results.append({"ok": describe(call(**example))})
    except BaseException as e:  # noqa: BLE001  (the contract names the exception type, AssertionError included)
        results.append({"error": type(e).__name__, "message": str(e).splitlines()[0] if str(e) else ""})
print("RESULTS " + json.dumps(results), flush=True)
