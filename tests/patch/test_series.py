"""The patch series against the real vLLM v0.22.1 source: applies, compiles, dispatches as specified."""

from __future__ import annotations

import compileall
import importlib.util
import logging
import os
import shutil
import subprocess

import pytest
from dispatch_cases import CASES, case_id, ran

from rocm_images import UserError
from rocm_images.stages import patches

TOUCHED = ("vllm/envs.py", "vllm/_aiter_ops.py", "vllm/model_executor/layers/mhc.py",
           "vllm/models/deepseek_v4/amd/model.py", "vllm/models/deepseek_v4/amd/mtp.py")


def test_sdist_is_the_pinned_release(upstream_tree, pin):
    assert (upstream_tree / ".sdist-sha256").read_text().strip() == pin["VLLM_SDIST_SHA256"]
    assert f"Version: {pin['VLLM_VERSION']}" in (upstream_tree / "PKG-INFO").read_text()


def test_series_applies_and_compiles(patched_tree, upstream_tree, pin):
    series = patches.series(pin["VLLM_REF"])
    assert sorted({f for p in series for f in patches.touched_files(p)}) == sorted(TOUCHED)
    for rel in TOUCHED:
        assert (patched_tree / rel).read_text() != (upstream_tree / rel).read_text(), rel
    assert compileall.compile_file(str(patched_tree / TOUCHED[1]), quiet=1)
    assert compileall.compile_dir(str(patched_tree / "vllm"), quiet=1, workers=2)


def test_series_is_python_only_so_overlay_mode(pin):
    assert patches.mode_for(patches.series(pin["VLLM_REF"])) == "overlay"


def _series(tmp_path, *files_per_patch: tuple[str, ...]):
    out = []
    for n, files in enumerate(files_per_patch, 1):
        p = tmp_path / f"{n:04d}-synthetic.patch"
        p.write_text("".join(f"--- a/{f}\n+++ b/{f}\n@@ -1 +1 @@\n-a\n+b\n" for f in files))
        out.append(p)
    return out


@pytest.mark.parametrize("files,mode", [
    ((("vllm/envs.py",), ("vllm/model_executor/layers/mhc.py",)), "overlay"),
    ((("vllm/envs.py", "csrc/rocm/mhc.cu"),), "full"),                  # one compiled file in a mixed patch
    ((("vllm/envs.py",), ("CMakeLists.txt",)), "full"),                 # a later patch touching the build
    ((("vllm/envs.py",), ("requirements/rocm.txt",)), "full"),          # requirements are not site-packages
])
def test_any_non_python_file_switches_the_series_to_full_mode(tmp_path, files, mode):
    """Overlay patches site-packages, where a .cu or CMake change would never compile: one such file anywhere
    in the series means the patched source is built as a wheel."""
    assert patches.mode_for(_series(tmp_path, *files)) == mode


def test_failing_hunk_is_named_in_one_line(upstream_tree, pin, tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(upstream_tree, tree)
    mhc = tree / "vllm/model_executor/layers/mhc.py"
    mhc.write_text(mhc.read_text().replace("# TODO: Reenable aiter after we are at the aiter", "# changed upstream"))
    with pytest.raises(UserError) as err:
        patches.apply(patches.series(pin["VLLM_REF"]), tree)
    msg = str(err.value)
    assert "\n" not in msg
    # the first changed line is in the patch's second hunk of mhc.py (MHCPreOp), which starts at line 71
    assert msg.startswith("patch 0002-") and "vllm/model_executor/layers/mhc.py hunk #2 (@@ -71) no longer" in msg


def test_apply_inside_another_git_tree_does_not_skip(upstream_tree, pin, tmp_path):
    # git apply run under a foreign work tree silently skips paths; the series must still land
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    tree = tmp_path / "sub" / "tree"
    shutil.copytree(upstream_tree / "vllm", tree / "vllm")
    patches.apply(patches.series(pin["VLLM_REF"]), tree)
    assert "VLLM_ROCM_USE_TILELANG_MHC" in (tree / "vllm/envs.py").read_text()


def _envs(tree, monkeypatch):
    """vllm/envs.py alone (it imports only the standard library), fresh each time."""
    spec = importlib.util.spec_from_file_location("patched_vllm_envs", tree / "vllm" / "envs.py")
    envs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(envs)
    return envs


@pytest.mark.parametrize("value,expected", [("1", True), ("0", False), ("true", True), ("false", False),
                                            ("TRUE", True), ("False", False), (" 1 ", True), ("", False)])
def test_knob_accepted_values(patched_tree, monkeypatch, value, expected):
    monkeypatch.setenv("VLLM_ROCM_USE_TILELANG_MHC", value)
    assert _envs(patched_tree, monkeypatch).VLLM_ROCM_USE_TILELANG_MHC is expected


def test_knob_default_off(patched_tree, monkeypatch):
    monkeypatch.delenv("VLLM_ROCM_USE_TILELANG_MHC", raising=False)
    assert _envs(patched_tree, monkeypatch).VLLM_ROCM_USE_TILELANG_MHC is False


@pytest.mark.parametrize("value", ["maybe", "yes", "2", "on", "tru"])
def test_knob_bad_value_is_an_error_naming_it(patched_tree, monkeypatch, value):
    monkeypatch.setenv("VLLM_ROCM_USE_TILELANG_MHC", value)
    envs = _envs(patched_tree, monkeypatch)
    with pytest.raises(ValueError, match=r"VLLM_ROCM_USE_TILELANG_MHC=.* accepted values: 1, 0, true, false"):
        envs.VLLM_ROCM_USE_TILELANG_MHC  # noqa: B018


def test_removed_knob(patched_tree, monkeypatch, caplog):
    envs = _envs(patched_tree, monkeypatch)
    assert "VLLM_ROCM_USE_AITER_MHC" not in envs.environment_variables
    monkeypatch.setenv("VLLM_ROCM_USE_AITER_MHC", "0")
    with pytest.raises(ValueError, match="VLLM_ROCM_USE_AITER_MHC was removed.*VLLM_ROCM_USE_TILELANG_MHC=1"):
        envs.check_removed_envs()
    monkeypatch.setenv("VLLM_ROCM_USE_AITER_MHC", "1")
    with caplog.at_level(logging.WARNING, logger="patched_vllm_envs"):
        for _ in range(4 * 61):  # every op construction of a 61-layer model asks: one warning per process
            envs.check_removed_envs()  # restates the default: warning only
    assert [r.getMessage() for r in caplog.records].count(
        envs.REMOVED_ENVS["VLLM_ROCM_USE_AITER_MHC"] + " (ignored VLLM_ROCM_USE_AITER_MHC=1)") == 1
    monkeypatch.setenv("VLLM_ROCM_USE_AITER_MHC", "")
    envs.check_removed_envs()  # empty is unset, as for every other knob


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_dispatch(patched_tree, dispatch, case):
    expected = case[-1]
    result = dispatch(patched_tree, case)
    assert ran(result) == expected, result
    if expected != "tilelang":
        # the default paths never import (let alone compile) tilelang
        assert result["tilelang_events"] == [], result
    if expected == "startup-error":
        assert "VLLM_ROCM_USE_TILELANG_MHC=1 but tilelang is not installed" in result["startup_error"]
    if expected == "aiter":  # zero tokens (an empty batch) never reach the kernels, which divide by the count
        assert result["zero_tokens"] == "ok", result


@pytest.mark.skipif(os.environ.get("ROCM_IMAGES_NEGATIVE_CONTROL") == "skip", reason="asked to skip")
def test_negative_control_dispatch_fails_on_unpatched_tree(upstream_tree, dispatch):
    """The same matrix against the UNPATCHED source must disagree, or the tests above prove nothing."""
    mismatches = [case_id(c) for c in CASES if ran(dispatch(upstream_tree, c)) != c[-1]]
    # upstream: tilelang whenever importable, aiter never: the default and the opt-out cases all differ
    assert "rocm-h7168-hc4-tl-AITER=1" in mismatches
    assert "rocm-h7168-hc4-notl-AITER=1" in mismatches
    assert "rocm-h7168-hc4-tl-AITER=0" in mismatches
    assert len(mismatches) >= 5, mismatches
