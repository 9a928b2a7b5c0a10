"""The sandbox's aiter holds aiter's real mHC contract (images/rocm_base/aiter-mhc-contract.json, read from aiter's
source at the pinned tag): aiter's own wrapper (aiter/ops/mhc.py) over the CPU module_mhc rejects every shape the
real kernels reject with the same kind of error and message, accepts what they accept and returns aiter's shapes,
and the shapes this project runs pass."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import aiter_host
import pytest

from rocm_images import REPO_ROOT
from rocm_images.image import probe

CONTRACT = json.loads((REPO_ROOT / "images" / "rocm_base" / "aiter-mhc-contract.json").read_text())
REJECTS = [(c, ex) for c in CONTRACT["checks"] for ex in c["rejects"]]
ACCEPTS = [{k: v for k, v in e.items() if k != "note"} for e in CONTRACT["accepts"]]
PROJECT = [{"op": op, "hidden": h, "hc": probe.HC_MULT, "tokens": probe.RUN_TOKENS, "arch": arch}
           for arch in ("gfx942", "gfx950") for h in probe.DSV4_HIDDEN_SIZES for op in ("mhc_pre", "mhc_post")]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, dict]:
    """Every example's outcome, from one interpreter per arch running the real aiter."""
    examples = [dict(ex, op=c["op"]) for c, ex in REJECTS] + ACCEPTS + PROJECT
    out: dict[str, dict] = {}
    for arch in ("gfx942", "gfx950"):
        mine = [e for e in examples if e.get("arch", "gfx950") == arch]
        calls = tmp_path_factory.mktemp("calls") / f"{arch}.json"
        calls.write_text(json.dumps([{k: v for k, v in e.items() if k != "arch"} for e in mine]))
        env = aiter_host.env(None)
        env["ROCM_IMAGES_STANDIN_GFX"] = arch
        proc = subprocess.run([sys.executable, str(Path(__file__).with_name("aiter_calls.py")), str(calls)],
                              env=env, capture_output=True, text=True, timeout=600)
        line = [x for x in proc.stdout.splitlines() if x.startswith("RESULTS ")]
        assert line, proc.stdout[-2000:] + proc.stderr[-3000:]
        for example, result in zip(mine, json.loads(line[0][8:]), strict=True):
            out[json.dumps(example, sort_keys=True)] = result
    return out


def outcome(outcomes: dict[str, dict], example: dict) -> dict:
    return outcomes[json.dumps(example, sort_keys=True)]


@pytest.mark.parametrize("check,example", REJECTS, ids=[f"{c['id']}-{i}" for i, (c, _) in enumerate(REJECTS)])
def test_rejects_what_aiter_rejects(outcomes, check, example):
    got = outcome(outcomes, dict(example, op=check["op"]))
    assert got.get("error") == check["error"], (check["where"], got)
    assert check["message"] in got["message"], (check["where"], got)


@pytest.mark.parametrize("example", ACCEPTS, ids=lambda e: f"{e['op']}-h{e['hidden']}-{e.get('arch', '')}")
def test_accepts_what_aiter_accepts_and_returns_its_shapes(outcomes, example):
    got = outcome(outcomes, example)
    assert "ok" in got, got
    m, hc, h = example["tokens"], example["hc"], example["hidden"]
    if example["op"] == "mhc_pre":
        post, comb, layer_input = got["ok"]
        assert (post["shape"], post["dtype"]) == ([m, hc, 1], "float32")
        assert (comb["shape"], comb["dtype"]) == ([m, hc, hc], "float32")
        assert (layer_input["shape"], layer_input["dtype"]) == ([m, h], "bfloat16")
    else:
        ret, out = got["ok"]
        assert ret == "None" and out["shape"] == [m, hc, h] and out["abs_sum"] > 0  # written in place


@pytest.mark.parametrize("example", PROJECT, ids=lambda e: f"{e['op']}-h{e['hidden']}-{e['arch']}")
def test_the_shapes_this_project_runs_pass_the_contract(outcomes, example):
    assert "ok" in outcome(outcomes, example), outcome(outcomes, example)


def test_every_check_names_an_upstream_line_and_has_an_example(pin):
    for c in CONTRACT["checks"]:
        path, _, line = c["where"].rpartition(":")
        assert path in ("aiter/ops/mhc.py", "csrc/kernels/mhc_kernels.cu") and line.isdigit(), c
        assert c["rejects"], c["id"]
    # read at the aiter the images pin: moving AITER_BRANCH means re-reading the contract
    assert (CONTRACT["source"]["ref"], CONTRACT["source"]["commit"]) == (pin["AITER_BRANCH"], pin["AITER_COMMIT"])


def test_aiter_s_requirement_list_is_the_recorded_one():
    """The shared aiter_deps RUN installs the aiter source's requirements.txt in both profiles; the contract
    records the list read from the real tag."""
    lines = [x for x in (aiter_host.tree() / "requirements.txt").read_text().splitlines() if x]
    assert lines == CONTRACT["requirements"]["lines"]
