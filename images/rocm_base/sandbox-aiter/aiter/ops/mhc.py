"""mHC pre/post with aiter's signatures and aiter's input checks (images/rocm_base/aiter-mhc-contract.json, read
from the real aiter at its pinned tag); the kernels are CPU torch reference math (sandbox stand-in). A shape the
real kernels reject is rejected here with the same kind of error, so a green sandbox run is not a red GPU run."""

import math
import os

import torch

from ..jit.core import get_module

CU_NUM = {"gfx942": 304, "gfx950": 256}  # MI300X, MI355X compute units (the real code asks the device)
_FP16 = (torch.float16, torch.bfloat16)


def _arch() -> str:
    return os.environ.get("ROCM_IMAGES_STANDIN_GFX", "gfx950")


def _check(ok: bool, message: str) -> None:
    """TORCH_CHECK / AITER_CHECK: a RuntimeError carrying the kernel's message."""
    if not ok:
        raise RuntimeError(message)


_SCALAR_TYPE = {torch.float32: "Float", torch.float64: "Double", torch.int32: "Int", torch.int64: "Long"}


def _dispatch_fp16(dtype: torch.dtype, name: str) -> None:
    """AITER_DISPATCH_FLOATING16_TYPES: fp16/bf16 only, torch's NotImplementedError otherwise."""
    if dtype not in _FP16:
        raise NotImplementedError(f"\"{name}\" not implemented for '{_SCALAR_TYPE.get(dtype, str(dtype))}'")


def _pre_checks(residual, fn, sinkhorn_repeat) -> None:
    m, hc, hidden = residual.shape
    hc3 = fn.size(0)
    assert hc3 == hc * 2 + hc * hc or (hc3 == hc and sinkhorn_repeat == 0)  # aiter/ops/mhc.py:80
    hc_hidden = hc * hidden
    # aiter/ops/mhc.py:92-96: tile_k/split_k choice; its score divides by ceil(0) when m == 0
    score = math.ceil(m / 64) / (CU_NUM.get(_arch(), 256) * 4)
    score = score / math.ceil(score)
    # aiter/ops/mhc.py:97-115 only picks a (tile_k, split_k) passing :221-222, else keeps (64, 1), failing them
    fits = any(hc_hidden % (k * s) == 0 and hc_hidden // s >= k * 2 for k in (128, 64) for s in range(1, 33))
    _dispatch_fp16(residual.dtype, "mhc_pre_gemm_sqrsum")  # csrc/kernels/mhc_kernels.cu:216
    if not fits:
        _check(hc_hidden % 64 == 0, "hc_hidden_size must be divisible by tile_k * split_k")  # :221
        _check(hc_hidden >= 64 * 2, "hc_hidden_size must >= tile_k * split_k * 2 stages prefetch")  # :222
    _check(hc == 4, "hc_mult only supports 4")  # :583
    block = 128 if _arch() == "gfx942" and m > CU_NUM["gfx942"] * 12 else 256  # :555-559
    _check(hidden % block == 0, "hidden_size must be divisible by residual_block")  # :516
    _check(hidden >= block * 2, "hidden_size must be >= residual_block * 2 stages prefetch")  # :517


def mhc_pre(residual, fn, hc_scale, hc_base, rms_eps=1e-6, hc_pre_eps=1e-6, hc_sinkhorn_eps=1e-6,
            hc_post_mult_value=1.0, sinkhorn_repeat=20):
    """residual (T, hc, H) bf16 -> post_mix (T, hc, 1) fp32, comb_mix (T, hc, hc) fp32, layer_input (T, H) bf16."""
    _pre_checks(residual, fn, sinkhorn_repeat)
    get_module("module_mhc")
    tokens, hc, hidden = residual.shape
    x = residual.reshape(tokens, hc * hidden).float()
    mixes = (x @ fn.t()) * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + rms_eps)
    pre = torch.sigmoid(mixes[:, :hc] * hc_scale[0] + hc_base[:hc]) + hc_pre_eps
    layer_input = (pre.unsqueeze(-1) * residual.float()).sum(dim=1).to(torch.bfloat16)
    if sinkhorn_repeat == 0:  # hc_head: only the pre mix is meaningful
        return torch.zeros(tokens, hc, 1), torch.zeros(tokens, hc, hc), layer_input
    post = torch.sigmoid(mixes[:, hc:2 * hc] * hc_scale[1] + hc_base[hc:2 * hc]) * hc_post_mult_value
    comb = mixes[:, 2 * hc:].reshape(tokens, hc, hc) * hc_scale[2] + hc_base[2 * hc:].reshape(1, hc, hc)
    comb = torch.softmax(comb, dim=-1) + hc_sinkhorn_eps
    comb = comb / (comb.sum(dim=-2, keepdim=True) + hc_sinkhorn_eps)
    for _ in range(sinkhorn_repeat - 1):  # Sinkhorn: alternate row and column normalisation
        comb = comb / (comb.sum(dim=-1, keepdim=True) + hc_sinkhorn_eps)
        comb = comb / (comb.sum(dim=-2, keepdim=True) + hc_sinkhorn_eps)
    return post.unsqueeze(-1), comb, layer_input


def _post_checks(x, residual, post_layer_mix, comb_res_mix) -> None:
    m, hc, hidden = residual.shape
    _check(hc == 4, "hc_mult only supports 4")  # csrc/kernels/mhc_kernels.cu:908
    if _arch() != "gfx942" and hidden % 1024 == 0:  # :884-893
        block = 1024
    elif hidden % 512 == 0:
        block = 512
    elif hidden % 256 == 0:
        block = 256
    else:
        raise RuntimeError("hidden_size must be divisible by 256")
    _check(hidden % block == 0, "hidden_size must be divisible by residual_block")  # :855
    _check(hidden >= block * 2, "hidden_size must be >= residual_block * 2 stages prefetch")  # :856
    if m == 0:  # :859 divides by the token count: the real kernel dies with SIGFPE
        raise ZeroDivisionError("mhc_post with 0 tokens: the real kernel divides by the token count (SIGFPE)")
    _dispatch_fp16(x.dtype, "mhc_post")  # :868
    # not checked by aiter, which reads these as fp32 whatever they are: garbage there, an error here
    for name, t in (("post_layer_mix", post_layer_mix), ("comb_res_mix", comb_res_mix)):
        _check(t.dtype == torch.float32, f"[stand-in] {name} must be fp32 (aiter reads it as fp32 unchecked)")


def mhc_post(out, x, residual, post_layer_mix, comb_res_mix):
    """out[t, j] = post_layer_mix[t, j] * x[t] + sum_i comb_res_mix[t, i, j] * residual[t, i]; returns None."""
    _post_checks(x, residual, post_layer_mix, comb_res_mix)
    get_module("module_mhc")
    mixed = torch.einsum("tij,tih->tjh", comb_res_mix.float(), residual.float())
    out.copy_((mixed + post_layer_mix.float().reshape(*residual.shape[:2], 1) * x.unsqueeze(1).float())
              .to(out.dtype))
