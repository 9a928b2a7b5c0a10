"""Rebasing the series to another vLLM release: check, workspace, refresh, against real sdists from the index."""

from __future__ import annotations

import subprocess

import pytest

from rocm_images import UserError
from rocm_images.host import cli, vllm_ref
from rocm_images.stages import patches

APPLIES, BREAKS = "v0.22.0", "v0.23.0"  # releases either side of the pin: the series applies / envs.py moved


def test_patch_check_on_another_release_fetches_it_and_reports_the_checksum_source(pin, capsys):
    assert cli.main(["patch-check", "--ref", APPLIES]) == 0
    out = capsys.readouterr().out
    assert "sha256 published by the package index (not pinned)" in out
    assert f"the {pin['VLLM_REF']} series applies cleanly to vLLM {APPLIES} (mode: overlay)" in out


def test_patch_check_names_patch_file_and_hunk_in_one_line(capsys):
    assert cli.main(["patch-check", "--ref", BREAKS]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert err.startswith("error: patch 0001-") and "vllm/envs.py hunk #1 (@@ -" in err
    assert "make patch-work VLLM_REF=<ref>" in err


def test_ref_that_is_not_a_release_is_refused(pin):
    with pytest.raises(UserError, match="VLLM_REF=main is not a release tag"):
        vllm_ref.source("main", pin)


def test_workspace_stops_with_rejects_where_the_series_breaks(pin, tmp_path):
    src, _ = vllm_ref.source(BREAKS, pin)
    series, _ = vllm_ref.series(BREAKS, pin)
    with pytest.raises(UserError) as err:
        patches.workspace(src, BREAKS, series, tmp_path / "work")
    assert "vllm/envs.py.rej" in str(err.value) and "git am --continue" in str(err.value)
    with pytest.raises(UserError, match="still being applied"):
        patches.refresh(tmp_path / "work", BREAKS, root=tmp_path / "series")
    assert not (tmp_path / "series").exists()


def test_workspace_edit_refresh_round_trip(pin, tmp_path):
    src, _ = vllm_ref.source(APPLIES, pin)
    series, _ = vllm_ref.series(APPLIES, pin)
    work = patches.workspace(src, APPLIES, series, tmp_path / "work")
    envs = work / "vllm" / "envs.py"
    envs.write_text(envs.read_text() + "# rebased\n")
    git = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@t.invalid"]
    subprocess.run([*git, "commit", "-qam", "follow-up"], check=True)
    out = patches.refresh(work, APPLIES, root=tmp_path / "series")
    assert [p.name[:5] for p in out] == ["0001-", "0002-", "0003-", "0004-"]
    assert (tmp_path / "series" / APPLIES).is_dir() and not (tmp_path / "series" / f"{APPLIES}.new").exists()
    fresh = tmp_path / "fresh"
    subprocess.run(["cp", "-a", str(src), str(fresh)], check=True)
    patches.apply(out, fresh)
    assert (fresh / "vllm" / "envs.py").read_text().endswith("# rebased\n")
