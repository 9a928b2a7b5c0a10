import os


def _record(name: str) -> None:
    with open(os.environ["FAKE_AITER_LOG"], "a") as f:
        f.write(name + "\n")


def mhc_pre(residual, fn, hc_scale, hc_base, rms_eps, hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value,
            sinkhorn_repeat):
    from vllm.model_executor.kernels.mhc.torch import mhc_pre_torch

    _record("mhc_pre")
    post, comb, inp = mhc_pre_torch(residual, fn, hc_scale, hc_base, rms_eps, hc_pre_eps, hc_sinkhorn_eps,
                                    hc_post_mult_value, sinkhorn_repeat)
    return post, comb, inp


def mhc_post(out, x, residual, post_layer_mix, comb_res_mix):
    from vllm.model_executor.kernels.mhc.torch import mhc_post_torch

    _record("mhc_post")
    out.copy_(mhc_post_torch(x, residual, post_layer_mix, comb_res_mix))
    return out
