"""mHC pre/post with aiter's signatures. The kernels are CPU torch reference math (sandbox stand-in)."""

import torch

from ..jit.core import get_module

CALLS = {"mhc_pre": 0, "mhc_post": 0}


def mhc_pre(residual, fn, hc_scale, hc_base, rms_eps, hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value,
            sinkhorn_repeat):
    """residual (T, hc, H) bf16 -> post_mix (T, hc, 1), comb_mix (T, hc, hc), layer_input (T, H)."""
    get_module("module_mhc")
    CALLS["mhc_pre"] += 1
    tokens, hc, hidden = residual.shape
    x = residual.reshape(tokens, hc * hidden).float()
    mixes = (x @ fn.t()) * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + rms_eps)
    pre = torch.sigmoid(mixes[:, :hc] * hc_scale[0] + hc_base[:hc]) + hc_pre_eps
    post = torch.sigmoid(mixes[:, hc:2 * hc] * hc_scale[1] + hc_base[hc:2 * hc]) * hc_post_mult_value
    comb = mixes[:, 2 * hc:].reshape(tokens, hc, hc) * hc_scale[2] + hc_base[2 * hc:].reshape(1, hc, hc)
    comb = torch.softmax(comb, dim=-1) + hc_sinkhorn_eps
    comb = comb / (comb.sum(dim=-2, keepdim=True) + hc_sinkhorn_eps)
    for _ in range(sinkhorn_repeat - 1):  # Sinkhorn: alternate row and column normalisation
        comb = comb / (comb.sum(dim=-1, keepdim=True) + hc_sinkhorn_eps)
        comb = comb / (comb.sum(dim=-2, keepdim=True) + hc_sinkhorn_eps)
    layer_input = (pre.unsqueeze(-1) * residual.float()).sum(dim=1).to(torch.bfloat16)
    return post.unsqueeze(-1), comb, layer_input


def mhc_post(out, x, residual, post_layer_mix, comb_res_mix):
    """out[t, j] = post_layer_mix[t, j] * x[t] + sum_i comb_res_mix[t, i, j] * residual[t, i]."""
    get_module("module_mhc")
    CALLS["mhc_post"] += 1
    mixed = torch.einsum("tij,tih->tjh", comb_res_mix.float(), residual.float())
    out.copy_((mixed + post_layer_mix.float() * x.unsqueeze(1).float()).to(out.dtype))
    return out
