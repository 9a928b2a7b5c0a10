"""Run in a fresh interpreter against a vLLM tree (platform ROCm, tensors on the CPU): the DeepSeek-V4 decoder
layer, model loop and MTP layer run their REAL forward code on stand-in submodules, fused and unfused, and are
compared with an independent reference built from vLLM's torch mHC ops. Prints one JSON line: per scenario the
largest absolute difference from the reference, or the error it raised.

Only what cannot run on a CPU is a stand-in: attention/FFN/norms (small fixed projections), the tilelang fused
post+pre kernel (vLLM's torch post then pre, which is what the kernel's docstring says it computes) and hc_head.

`numerics_harness.py wiring` builds the model and the MTP layer through their own constructors instead
(DeepseekV4Model, DeepSeekV4MultiTokenPredictorLayer and the DeepseekV4DecoderLayers they make; attention, MoE,
norm, embedding, the MTP projections and its head swapped for the same stand-ins; one pipeline rank), so the
fused/unfused choice and the deferred-hc_post gate are the tree's own, and reports how often the fused op ran.
"""

import json
import os
import sys
from contextlib import contextmanager
from types import SimpleNamespace

import torch
from torch import nn
from vllm_cpu import record_aiter_calls, set_platform

set_platform("rocm")
record_aiter_calls()

from vllm.config import VllmConfig, set_current_vllm_config  # noqa: E402
from vllm.model_executor.kernels.mhc.torch import mhc_post_torch, mhc_pre_torch  # noqa: E402
from vllm.model_executor.layers import mhc  # noqa: E402
from vllm.models.deepseek_v4.amd import model as v4  # noqa: E402
from vllm.models.deepseek_v4.amd import mtp as v4_mtp  # noqa: E402

HC, D, T, LAYERS, VOCAB = 4, 4096, 5, 3, 32  # DeepSeek-V4 hidden size: aiter takes it
EPS, ALPHA, SINKHORN = 1e-6, 2.0, 3
BF16 = torch.bfloat16
gen = torch.Generator().manual_seed(0)


def rand(*shape: int, scale: float = 1.0) -> torch.Tensor:
    return torch.randn(*shape, generator=gen) * scale


def proj(din: int, dout: int, act=lambda t: t):
    w = rand(dout, din, scale=din**-0.5)
    return lambda x: act(x.float() @ w.t()).to(BF16)


def rms(x: torch.Tensor) -> torch.Tensor:
    xf = x.float()
    return (xf * torch.rsqrt(xf.square().mean(-1, keepdim=True) + EPS)).to(BF16)


def fused_post_pre(x, residual, post_mix, res_mix, fn, scale, base, rms_eps, pre_eps, sk_eps, alpha, iters, *_):
    residual = mhc_post_torch(x, residual, post_mix, res_mix)
    post, comb, layer_input = mhc_pre_torch(residual, fn, scale, base, rms_eps, pre_eps, sk_eps, alpha, iters)
    return residual, post, comb, layer_input


FUSED_CALLS = [0]


def recorded_fused_post_pre(*args):
    FUSED_CALLS[0] += 1
    return fused_post_pre(*args)


class Stub(nn.Module):
    """Stands in for a submodule the layer constructor builds; forward is a fixed CPU function."""

    def __init__(self, call) -> None:
        super().__init__()
        self.call = call

    def forward(self, *args):
        return self.call(*args)


def attention_stub(*_args, **_kwargs) -> Stub:
    f = proj(D, D)
    return Stub(lambda positions, x, _: f(x))  # the decoder calls attn(positions, x, None)


def moe_stub(*_args, **_kwargs) -> Stub:
    f = proj(D, D, torch.tanh)
    return Stub(lambda x, input_ids: f(x))


HF = SimpleNamespace(hidden_size=D, rms_norm_eps=EPS, hc_mult=HC, hc_sinkhorn_iters=SINKHORN, hc_eps=EPS,
                     vocab_size=VOCAB, index_topk=8, num_hidden_layers=LAYERS)
ONE_RANK = SimpleNamespace(is_first_rank=True, is_last_rank=True, rank_in_group=0, world_size=1)


def vllm_config() -> SimpleNamespace:
    """What the constructors read of VllmConfig (the MTP layer reads the draft model's config: the same here)."""
    from vllm.config import CompilationConfig, CompilationMode

    model_config = SimpleNamespace(hf_config=HF, dtype=BF16)
    # eager: the model class's torch.compile wrapper stands aside (what is compared is the forward code)
    return SimpleNamespace(model_config=model_config, quant_config=None,
                           compilation_config=CompilationConfig(mode=CompilationMode.NONE),
                           scheduler_config=SimpleNamespace(max_num_batched_tokens=T),
                           speculative_config=SimpleNamespace(draft_model_config=model_config))


@contextmanager
def constructing():
    """Stand-ins for the submodules that need a GPU or a process group; buffers the constructors put on the
    platform's device go to the CPU while they run."""
    from vllm.distributed import parallel_state

    v4.DeepseekV4Attention, v4.DeepseekV4MoE, v4.RMSNorm = attention_stub, moe_stub, lambda *a, **k: Stub(rms)
    v4.VocabParallelEmbedding = lambda *a, **k: Stub(lambda ids: embedding[ids])
    v4_mtp.RMSNorm = v4.RMSNorm
    v4_mtp.ReplicatedLinear = lambda *a, **k: Stub(proj(D, D))
    v4_mtp.SharedHead = lambda *a, **k: Stub(lambda h: h)  # logits are not what this harness compares
    v4.get_pp_group = parallel_state.get_pp_group = lambda: ONE_RANK  # make_layers asks it for this rank's share
    platform = v4.current_platform
    platform.device_type = "cpu"
    try:
        with set_current_vllm_config(VllmConfig()):
            yield
    finally:
        del platform.device_type  # back to the platform class's own


def init_layer(layer: v4.DeepseekV4DecoderLayer) -> v4.DeepseekV4DecoderLayer:
    """Random mHC weights (the constructor leaves them empty); the tilelang kernel is GPU-only."""
    with torch.no_grad():
        for site in ("attn", "ffn"):
            getattr(layer, f"hc_{site}_fn").copy_(rand(2 * HC + HC * HC, HC * D, scale=0.02))
            getattr(layer, f"hc_{site}_scale").copy_(torch.rand(3, generator=gen) + 0.5)
            getattr(layer, f"hc_{site}_base").copy_(rand(2 * HC + HC * HC, scale=0.1))
    layer.mhc_fused_post_pre = Stub(recorded_fused_post_pre)
    return layer


def build_layer() -> v4.DeepseekV4DecoderLayer:
    """A decoder layer from its own constructor: use_fused_mhc (has_tilelang upstream) is the tree's decision."""
    with constructing():
        return init_layer(v4.DeepseekV4DecoderLayer(vllm_config(), "layers.0"))


def build_model() -> v4.DeepseekV4Model:
    """The model from its own constructor: its layers, its has_tilelang, its buffers."""
    with constructing():
        m = v4.DeepseekV4Model(vllm_config=vllm_config(), prefix="model")
    for layer in m.layers:
        init_layer(layer)
    m.hc_head_op = Stub(hc_head)  # hc_head kernels are GPU-only
    return m


def build_mtp() -> v4_mtp.DeepSeekV4MultiTokenPredictorLayer:
    with constructing():
        topk_buffer = torch.empty(T, HF.index_topk, dtype=torch.int32)
        p = v4_mtp.DeepSeekV4MultiTokenPredictorLayer(vllm_config(), topk_buffer, "mtp.0")
    init_layer(p.mtp_block)
    return p


def hc_head(h: torch.Tensor, *_args) -> torch.Tensor:
    return h.float().mean(-2).to(BF16)


def make_layer(fused: bool) -> v4.DeepseekV4DecoderLayer:
    layer = v4.DeepseekV4DecoderLayer.__new__(v4.DeepseekV4DecoderLayer)
    nn.Module.__init__(layer)
    with set_current_vllm_config(VllmConfig()):
        layer.mhc_pre, layer.mhc_post = mhc.MHCPreOp(), mhc.MHCPostOp()  # the real (patched or not) ops
    layer.mhc_fused_post_pre = fused_post_pre
    for site in ("attn", "ffn"):
        setattr(layer, f"hc_{site}_fn", rand(2 * HC + HC * HC, HC * D, scale=0.02))
        setattr(layer, f"hc_{site}_scale", torch.rand(3, generator=gen) + 0.5)
        setattr(layer, f"hc_{site}_base", rand(2 * HC + HC * HC, scale=0.1))
    layer.rms_norm_eps, layer.hc_eps, layer.hc_post_alpha, layer.hc_sinkhorn_iters = EPS, EPS, ALPHA, SINKHORN
    layer.attn_norm = layer.ffn_norm = rms
    attn, ffn = proj(D, D), proj(D, D, torch.tanh)
    layer.attn = lambda positions, x, _: attn(x)  # the decoder calls attn(positions, x, None)
    layer.ffn = lambda x, input_ids: ffn(x)
    # the patched tree reads use_fused_mhc, the upstream tree has_tilelang: one flag, both names
    layer.use_fused_mhc = layer.has_tilelang = fused
    return layer


def reference_layer(layer, h: torch.Tensor) -> torch.Tensor:
    """hc_post applied inline after attention and after the FFN, written from the torch ops alone."""
    calls = (("attn", layer.attn, layer.attn_norm, lambda x: (positions, x, None)),
             ("ffn", layer.ffn, layer.ffn_norm, lambda x: (x, None)))
    for site, body, norm, args in calls:
        post, comb, x = mhc_pre_torch(h, getattr(layer, f"hc_{site}_fn"), getattr(layer, f"hc_{site}_scale"),
                                      getattr(layer, f"hc_{site}_base"), EPS, EPS, EPS, ALPHA, SINKHORN)
        h = mhc_post_torch(body(*args(norm(x))), h, post, comb)
    return h


def diff(got: torch.Tensor, want: torch.Tensor) -> dict:
    return {"max_abs_diff": (got.float() - want.float()).abs().max().item(), "ref_max": want.float().abs().max().item(),
            "shape_ok": tuple(got.shape) == tuple(want.shape)}


positions = torch.arange(T)
input_ids = torch.randint(0, VOCAB, (T,), generator=gen)
embedding = rand(VOCAB, D).to(BF16)


def decoder(fused: bool) -> dict:
    layers = [make_layer(fused) for _ in range(2)]
    h0 = rand(T, HC, D).to(BF16)
    x, residual, post, res = layers[0](h0, positions, None)
    x, residual, post, res = layers[1](x, positions, None, post, res, residual)
    if fused:
        assert residual is not None, "fused path returned no residual streams"
        x = layers[1].hc_post(x, residual, post, res)
    else:
        assert residual is None and post is None and res is None, "unfused path returned residual streams"
    return diff(x, reference_layer(layers[1], reference_layer(layers[0], h0)))


def assembled_model(fused: bool, has_tilelang: bool) -> v4.DeepseekV4Model:
    """The model around hand-made layers, its gate set by hand (the scenarios below vary both)."""
    v4.get_pp_group = lambda: ONE_RANK
    m = v4.DeepseekV4Model.__new__(v4.DeepseekV4Model)
    nn.Module.__init__(m)
    m.layers = nn.ModuleList(make_layer(fused) for _ in range(LAYERS))
    m.start_layer, m.end_layer, m.hc_mult = 0, LAYERS, HC
    m.embed_input_ids = lambda ids: embedding[ids]
    m._mtp_hidden_buffer = torch.zeros(T, HC * D, dtype=BF16)
    m.hc_head_fn = m.hc_head_scale = m.hc_head_base = None
    m.rms_norm_eps = m.hc_eps = EPS
    m.hc_head_op = hc_head  # hc_head kernels are GPU-only
    m.norm = rms
    m.has_tilelang = has_tilelang  # what upstream's model-level gate reads
    return m


def check_model(m: v4.DeepseekV4Model) -> dict:
    """The model's forward against the reference: the MTP stash (pre hc_head) and the output."""
    out = v4.DeepseekV4Model.forward(m, input_ids, positions, None)
    h = embedding[input_ids].unsqueeze(-2).repeat(1, HC, 1)
    for layer in m.layers:
        h = reference_layer(layer, h)
    return {"pre_head": diff(m._mtp_hidden_buffer, h.flatten(1)), "output": diff(out, rms(h.float().mean(-2).to(BF16)))}


def assembled_mtp(fused: bool, has_tilelang: bool) -> v4_mtp.DeepSeekV4MultiTokenPredictorLayer:
    p = v4_mtp.DeepSeekV4MultiTokenPredictorLayer.__new__(v4_mtp.DeepSeekV4MultiTokenPredictorLayer)
    nn.Module.__init__(p)
    p.enorm = p.hnorm = rms
    p.hc_mult, p.config = HC, SimpleNamespace(hidden_size=D)
    p.h_proj, p.e_proj = proj(D, D), proj(D, D)
    p.mtp_block = make_layer(fused)
    p.has_tilelang = has_tilelang
    return p


def check_mtp(p: v4_mtp.DeepSeekV4MultiTokenPredictorLayer) -> dict:
    prev, embeds = rand(T, HC * D).to(BF16), embedding[input_ids]
    out = p(input_ids, positions, prev, inputs_embeds=embeds)
    e = rms(torch.where(positions.unsqueeze(-1) == 0, 0, embeds))
    h = p.h_proj(rms(prev.view(-1, HC, D))) + p.e_proj(e).unsqueeze(-2)
    return diff(out, reference_layer(p.mtp_block, h).flatten(1))


def model(fused: bool, has_tilelang: bool) -> dict:
    return check_model(assembled_model(fused, has_tilelang))


def mtp(fused: bool, has_tilelang: bool) -> dict:
    return check_mtp(assembled_mtp(fused, has_tilelang))


# "mixed": tilelang installed but not opted in, so layers take the unfused path (what the patch makes the ROCm
# default) while upstream's model/MTP gate still reads has_tilelang=True
SCENARIOS = {
    "decoder-fused": lambda: decoder(True),
    "decoder-unfused": lambda: decoder(False),
    "model-fused": lambda: model(True, True),
    "model-unfused": lambda: model(False, False),
    "model-mixed": lambda: model(False, True),
    "mtp-fused": lambda: mtp(True, True),
    "mtp-unfused": lambda: mtp(False, False),
    "mtp-mixed": lambda: mtp(False, True),
}


def wired(build, check) -> dict:
    """Default knobs, tilelang installed, everything from its constructor: the layers decide for themselves, the
    deferred-hc_post gate is the tree's own (upstream: has_tilelang(); patched: residual is not None)."""
    FUSED_CALLS[0] = 0
    return {**check(build()), "fused_calls": FUSED_CALLS[0]}


def layer_decision() -> dict:
    layer = build_layer()
    return {"layer_fused": getattr(layer, "use_fused_mhc", getattr(layer, "has_tilelang", None))}


if sys.argv[1:] == ["wiring"]:
    SCENARIOS = {"wiring-decision": layer_decision, "wiring-default": lambda: wired(build_model, check_model),
                 "wiring-mtp": lambda: wired(build_mtp, check_mtp)}
results: dict = {}
for name, run in SCENARIOS.items():
    try:
        results[name] = run()
    except Exception as e:  # noqa: BLE001 - an exception is the scenario's result
        results[name] = {"error": f"{type(e).__name__}: {e}"}
log = os.environ["FAKE_AITER_LOG"]
results["aiter_calls"] = len(open(log).read().split()) if os.path.exists(log) else 0
print("HARNESS " + json.dumps(results))
