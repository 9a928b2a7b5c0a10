"""Fused tilelang post+pre with the deferred hc_post vs the unfused path (hc_post inline, residual None): the same
hidden states, through the real DeepSeek-V4 decoder, model loop and MTP forward code (numerics_harness.py)."""

from __future__ import annotations

import shutil

import pytest
from runner import run_harness

SCENARIOS = ("decoder-fused", "decoder-unfused", "model-fused", "model-unfused", "model-mixed",
             "mtp-fused", "mtp-unfused", "mtp-mixed")
TOLERANCE = 1e-2  # relative to the reference's magnitude; bf16 carries ~3 significant digits


def _matches(result: dict) -> bool:
    if "error" in result:
        return False
    parts = [result["pre_head"], result["output"]] if "pre_head" in result else [result]
    return all(p["shape_ok"] and p["max_abs_diff"] <= TOLERANCE * max(1.0, p["ref_max"]) for p in parts)


@pytest.fixture(scope="module", params=["1", "0"], ids=["aiter", "torch"])
def patched_results(request, patched_tree, tmp_path_factory):
    knobs = {"VLLM_ROCM_USE_AITER": request.param}
    out = run_harness("numerics_harness.py", patched_tree, tmp_path_factory.mktemp("num"), [], knobs, False)
    return request.param, out


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_patched_paths_agree_with_reference(patched_results, scenario):
    _, results = patched_results
    assert _matches(results[scenario]), results[scenario]


def test_unfused_mhc_ran_through_the_selected_rocm_op(patched_results):
    use_aiter, results = patched_results
    # AITER=1: pre and post per site per layer went through aiter's entry points; AITER=0: torch only
    assert (results["aiter_calls"] > 0) is (use_aiter == "1"), results["aiter_calls"]


def test_negative_control_unpatched_gate_breaks_the_mixed_case(upstream_tree, tmp_path):
    """Upstream gates the deferred hc_post on has_tilelang: with tilelang installed but the layers unfused (the
    patched ROCm default) it applies hc_post to residual streams that do not exist. The patch gates on residual."""
    results = run_harness("numerics_harness.py", upstream_tree, tmp_path, [], {"VLLM_ROCM_USE_AITER": "0"}, False)
    assert not _matches(results["model-mixed"]) and not _matches(results["mtp-mixed"]), results
    # everything else agrees upstream too, so the failure is the gate and not the harness
    assert all(_matches(results[s]) for s in SCENARIOS if not s.endswith("-mixed")), results


def _wiring(tree, tmp) -> dict:
    """Layers built by DeepseekV4DecoderLayer's own constructor, default knobs, aiter on, tilelang installed."""
    return run_harness("numerics_harness.py", tree, tmp, ["wiring"], {"VLLM_ROCM_USE_AITER": "1"}, True)


def test_constructed_layers_take_the_unfused_aiter_path_by_default(patched_tree, tmp_path):
    """The fused tilelang op never runs unless opted in, whatever the constructor is handed: a decoder layer
    that forces use_fused_mhc fails here (the flag is the tree's own decision, not the harness's)."""
    results = _wiring(patched_tree, tmp_path)
    assert results["wiring-decision"] == {"layer_fused": False}, results
    for scenario in ("wiring-default", "wiring-mtp"):  # the model and the MTP layer, built as vLLM builds them
        r = results[scenario]
        assert _matches(r) and r["fused_calls"] == 0, (scenario, r)
    assert results["aiter_calls"] > 0, results


def test_negative_control_upstream_constructor_fuses_whenever_tilelang_is_installed(upstream_tree, tmp_path):
    results = _wiring(upstream_tree, tmp_path)
    assert results["wiring-decision"] == {"layer_fused": True}, results


UPSTREAM_GATE = '__import__("vllm.utils.import_utils", fromlist=["x"]).has_tilelang()'  # what upstream asks


@pytest.mark.parametrize("module,patched,upstream", [
    ("model.py", "if layer is not None and residual is not None:", f"if layer is not None and {UPSTREAM_GATE}:"),
    ("mtp.py", "if residual is not None:", f"if {UPSTREAM_GATE}:"),
])
def test_mutation_control_the_upstream_gate_fails_the_constructed_model(patched_tree, tmp_path, module, patched,
                                                                        upstream):
    """The patched layers unfused by default but the deferred hc_post gated on has_tilelang again (one line, in a
    copy of the patched tree): the model or MTP layer built by its own constructor must fail."""
    tree = tmp_path / "mutant"
    shutil.copytree(patched_tree, tree, symlinks=True)
    path = tree / "vllm" / "models" / "deepseek_v4" / "amd" / module
    assert path.read_text().count(patched) == 1
    path.write_text(path.read_text().replace(patched, upstream))
    (tmp_path / "run").mkdir()
    results = _wiring(tree, tmp_path / "run")
    r = results["wiring-default" if module == "model.py" else "wiring-mtp"]
    # hc_post on residual streams the unfused layers never returned (None), as upstream does in the mixed case
    assert not _matches(r) and "NoneType" in r.get("error", "NoneType"), r


def test_mutation_control_a_forced_fused_flag_fails_the_wiring_check(patched_tree, tmp_path):
    """The check above watches the real wiring: force the decoder layer's fused flag in a copy of the patched
    tree (one line) and it must fail."""
    tree = tmp_path / "mutant"
    shutil.copytree(patched_tree, tree, symlinks=True)
    model = tree / "vllm" / "models" / "deepseek_v4" / "amd" / "model.py"
    line = "self.use_fused_mhc = use_tilelang_fused_mhc()"
    assert model.read_text().count(line) == 1
    model.write_text(model.read_text().replace(line, "self.use_fused_mhc = True"))
    (tmp_path / "run").mkdir()
    results = _wiring(tree, tmp_path / "run")
    assert results["wiring-decision"] == {"layer_fused": True}
    assert results["wiring-default"].get("fused_calls", 0) > 0 or not _matches(results["wiring-default"]), results
