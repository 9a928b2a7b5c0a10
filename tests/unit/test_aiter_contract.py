"""The sandbox aiter stand-in holds aiter's real mHC contract (images/rocm_base/aiter-mhc-contract.json, read from
aiter's source at the pinned tag): every shape the real kernels reject is rejected with the same kind of error and
message, the shapes they accept run and return what aiter returns, and the shapes this project runs pass."""

from __future__ import annotations

import importlib
import json
import sys

import pytest
import standin

from rocm_images import REPO_ROOT
from rocm_images.image import probe

torch = pytest.importorskip("torch")
CONTRACT = json.loads((REPO_ROOT / "images" / "rocm_base" / "aiter-mhc-contract.json").read_text())
REJECTS = [(c, ex) for c in CONTRACT["checks"] for ex in c["rejects"]]


@pytest.fixture(scope="module")
def aiter_mhc():
    """The stand-in's aiter.ops.mhc, loading a module_mhc.so compiled here (AITER_JIT_DIR), as the image does."""
    mp = pytest.MonkeyPatch()
    mp.setenv("AITER_JIT_DIR", str(standin.module_mhc_dir()))
    mp.syspath_prepend(str(standin.AITER))
    for name in [n for n in sys.modules if n == "aiter" or n.startswith("aiter.")]:
        mp.delitem(sys.modules, name)
    yield importlib.import_module("aiter.ops.mhc")
    mp.undo()
    for name in [n for n in sys.modules if n == "aiter" or n.startswith("aiter.")]:
        del sys.modules[name]


def call(aiter_mhc, op: str, hidden: int, hc: int, tokens: int, dtype: str = "bfloat16", fn_rows: int | None = None):
    g = torch.Generator().manual_seed(0)
    hc3 = 2 * hc + hc * hc
    residual = torch.randn(tokens, hc, hidden, generator=g).to(getattr(torch, dtype))
    if op == "mhc_pre":
        fn = torch.randn(fn_rows or hc3, hc * hidden, generator=g) * 0.02
        return aiter_mhc.mhc_pre(residual, fn, torch.ones(3), torch.zeros(hc3), 1e-6, 1e-6, 1e-6, 2.0, 3)
    out = torch.empty_like(residual)
    post, comb = torch.rand(tokens, hc, 1), torch.rand(tokens, hc, hc)
    ret = aiter_mhc.mhc_post(out, residual[:, 0].clone(), residual, post, comb)
    return ret, out


@pytest.mark.parametrize("check,example", REJECTS, ids=[f"{c['id']}-{i}" for i, (c, _) in enumerate(REJECTS)])
def test_standin_rejects_what_aiter_rejects(aiter_mhc, monkeypatch, check, example):
    ex = dict(example)
    monkeypatch.setenv("ROCM_IMAGES_STANDIN_GFX", ex.pop("arch", "gfx950"))
    with pytest.raises(BaseException) as err:
        call(aiter_mhc, check["op"], **ex)
    assert type(err.value).__name__ == check["error"], (check["where"], repr(err.value))
    assert check["message"] in str(err.value), (check["where"], str(err.value))


@pytest.mark.parametrize("example", CONTRACT["accepts"], ids=lambda e: f"{e['op']}-h{e['hidden']}-{e.get('arch', '')}")
def test_standin_accepts_what_aiter_accepts_and_returns_its_shapes(aiter_mhc, monkeypatch, example):
    ex = {k: v for k, v in example.items() if k not in ("op", "note")}
    monkeypatch.setenv("ROCM_IMAGES_STANDIN_GFX", ex.pop("arch", "gfx950"))
    m, hc, h = ex["tokens"], ex["hc"], ex["hidden"]
    if example["op"] == "mhc_pre":
        post, comb, layer_input = call(aiter_mhc, "mhc_pre", **ex)
        assert (post.shape, post.dtype) == ((m, hc, 1), torch.float32)
        assert (comb.shape, comb.dtype) == ((m, hc, hc), torch.float32)
        assert (layer_input.shape, layer_input.dtype) == ((m, h), torch.bfloat16)
    else:
        ret, out = call(aiter_mhc, "mhc_post", **ex)
        assert ret is None and out.shape == (m, hc, h) and out.abs().sum() > 0  # written in place


@pytest.mark.parametrize("arch", ["gfx942", "gfx950"])
@pytest.mark.parametrize("hidden", probe.DSV4_HIDDEN_SIZES)
def test_the_shapes_this_project_runs_pass_the_contract(aiter_mhc, monkeypatch, arch, hidden):
    monkeypatch.setenv("ROCM_IMAGES_STANDIN_GFX", arch)
    post, comb, layer_input = call(aiter_mhc, "mhc_pre", hidden, probe.HC_MULT, probe.RUN_TOKENS)
    call(aiter_mhc, "mhc_post", hidden, probe.HC_MULT, probe.RUN_TOKENS)


def test_every_check_names_an_upstream_line_and_has_an_example(pin):
    for c in CONTRACT["checks"]:
        path, _, line = c["where"].rpartition(":")
        assert path in ("aiter/ops/mhc.py", "csrc/kernels/mhc_kernels.cu") and line.isdigit(), c
        assert c["rejects"], c["id"]
    # read at the aiter the images pin: moving AITER_BRANCH means re-reading the contract
    assert (CONTRACT["source"]["ref"], CONTRACT["source"]["commit"]) == (pin["AITER_BRANCH"], pin["AITER_COMMIT"])


def test_stand_in_ships_aiter_s_exact_requirement_list(repo):
    """The shared aiter_deps RUN installs the aiter source's requirements.txt in both profiles; the stand-in's
    list is the one recorded from the real tag."""
    contract = json.loads((repo / "images/rocm_base/aiter-mhc-contract.json").read_text())
    lines = [x for x in (repo / "images/rocm_base/sandbox-aiter/requirements.txt").read_text().splitlines() if x]
    assert lines == contract["requirements"]["lines"]
    assert "flydsl==0.1.7" in lines and "pandas" in lines
