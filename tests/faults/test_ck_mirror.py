"""CK_MIRROR: the local source of the sandbox's composable_kernel (the ck_tile headers aiter's mhc kernels include).
Bad input is one line that says what to do and leaves no half-made mirror; a good bundle becomes the mirror the
ck_clone stage checks CK_COMMIT out of."""

from __future__ import annotations

import subprocess

import pytest

from rocm_images import UserError
from rocm_images.host import ck_mirror


def _bundle(tmp_path) -> tuple:
    repo = tmp_path / "repo"
    (repo / "include" / "ck_tile").mkdir(parents=True)
    (repo / "include" / "ck_tile" / "core.hpp").write_text("#pragma once\n")
    ident = ["-c", "user.name=t", "-c", "user.email=t@t.invalid"]
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-qm", "ck"]):
        subprocess.run(["git", *ident, *args], cwd=repo, check=True, capture_output=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True,
                          text=True).stdout.strip()
    subprocess.run(["git", "bundle", "create", str(tmp_path / "ck.bundle"), "--all"], cwd=repo, check=True,
                   capture_output=True)
    return tmp_path / "ck.bundle", head


@pytest.fixture(autouse=True)
def mirror_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(ck_mirror, "MIRROR_DIR", tmp_path / "build" / "ck-mirror")
    return ck_mirror.MIRROR_DIR


def test_a_missing_path_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("CK_MIRROR", str(tmp_path / "nope.bundle"))
    with pytest.raises(UserError, match=r"^CK_MIRROR=\S+nope.bundle does not exist; point it at a git bundle or "
                                        r"clone of ROCm/composable_kernel"):
        ck_mirror.prepare({"CK_REPO": "/nonexistent/ck.git", "CK_COMMIT": "0" * 40})


def test_a_bundle_lacking_ck_commit_is_refused_and_leaves_nothing(monkeypatch, tmp_path, mirror_dir):
    bundle, _ = _bundle(tmp_path)
    monkeypatch.setenv("CK_MIRROR", str(bundle))
    with pytest.raises(UserError, match=r"lacks CK_COMMIT=1{40} \(versions.env\); refresh the bundle"):
        ck_mirror.prepare({"CK_REPO": "/nonexistent/ck.git", "CK_COMMIT": "1" * 40})
    assert not mirror_dir.exists()


def test_a_good_bundle_becomes_the_mirror_the_build_clones(monkeypatch, tmp_path, mirror_dir):
    bundle, head = _bundle(tmp_path)
    monkeypatch.setenv("CK_MIRROR", str(bundle))
    got = ck_mirror.prepare({"CK_REPO": "/nonexistent/ck.git", "CK_COMMIT": head})
    assert got["SANDBOX_CK_REPO"] == "/mirror/ck.git" and got["CK_MIRROR_DIR"].endswith("ck-mirror")
    show = subprocess.run(["git", "--git-dir", str(mirror_dir / "ck.git"), "show", f"{head}:include/ck_tile/core.hpp"],
                          capture_output=True, text=True)
    assert show.stdout == "#pragma once\n"


def test_without_a_mirror_an_unreachable_repo_names_ck_mirror(monkeypatch, mirror_dir):
    monkeypatch.delenv("CK_MIRROR", raising=False)
    with pytest.raises(UserError) as err:
        ck_mirror.prepare({"CK_REPO": "/nonexistent/ck.git", "CK_COMMIT": "2" * 40})
    assert str(err.value) == ("cannot reach CK_REPO /nonexistent/ck.git; check the network, or set CK_MIRROR to a "
                              "git bundle or clone of ROCm/composable_kernel that holds CK_COMMIT=222222222222")
