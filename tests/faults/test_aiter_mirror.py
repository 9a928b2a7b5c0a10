"""AITER_MIRROR: the local source of the sandbox's aiter clone. Bad input is one line that says what to do, and
a good bundle becomes the mirror the build clones, holding the tags the build checks out."""

from __future__ import annotations

import subprocess

import pytest

from rocm_images import UserError
from rocm_images.host import aiter_mirror

PIN = {"AITER_BRANCH": "v0.1.14", "AITER_CONTROL_BRANCH": "v0.1.13", "AITER_REPO": "/nonexistent/aiter.git"}


def _git(cwd, *args: str) -> None:
    ident = ["-c", "user.name=t", "-c", "user.email=t@t.invalid"]
    subprocess.run(["git", *ident, *args], cwd=cwd, check=True, capture_output=True)


def _bundle(tmp_path, tags: tuple[str, ...]):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    for tag in tags:
        (repo / "f").write_text(tag)
        _git(repo, "add", "f")
        _git(repo, "commit", "-qm", tag)
        _git(repo, "tag", tag)
    _git(repo, "bundle", "create", str(tmp_path / "aiter.bundle"), "--all")
    return tmp_path / "aiter.bundle"


@pytest.fixture(autouse=True)
def mirror_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(aiter_mirror, "MIRROR_DIR", tmp_path / "build" / "aiter-mirror")
    return aiter_mirror.MIRROR_DIR


def test_a_missing_path_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("AITER_MIRROR", str(tmp_path / "nope.bundle"))
    with pytest.raises(UserError, match=r"^AITER_MIRROR=\S+nope.bundle does not exist; point it at a git bundle"):
        aiter_mirror.prepare(PIN)


def test_a_file_that_is_no_bundle_is_one_line(monkeypatch, tmp_path):
    (tmp_path / "x.bundle").write_text("not a bundle\n")
    monkeypatch.setenv("AITER_MIRROR", str(tmp_path / "x.bundle"))
    with pytest.raises(UserError, match="is neither a git bundle nor a git repository"):
        aiter_mirror.prepare(PIN)


def test_a_bundle_lacking_the_control_tag_is_refused_and_leaves_nothing(monkeypatch, tmp_path, mirror_dir):
    monkeypatch.setenv("AITER_MIRROR", str(_bundle(tmp_path, ("v0.1.14",))))
    with pytest.raises(UserError, match=r"lacks the tag\(s\) v0.1.13 \(AITER_BRANCH, AITER_CONTROL_BRANCH"):
        aiter_mirror.prepare(PIN)
    assert not mirror_dir.exists()


def test_a_good_bundle_becomes_the_mirror_the_build_clones(monkeypatch, tmp_path, mirror_dir):
    monkeypatch.setenv("AITER_MIRROR", str(_bundle(tmp_path, ("v0.1.13", "v0.1.14"))))
    got = aiter_mirror.prepare(PIN)
    assert got["SANDBOX_AITER_REPO"] == "/mirror/aiter.git" and got["AITER_MIRROR_DIR"].endswith("aiter-mirror")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(mirror_dir / "aiter.git"), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "-q", "v0.1.14"], check=True)
    assert (clone / "f").read_text() == "v0.1.14"
    assert aiter_mirror.prepare(PIN) == got  # again: the same mirror, updated in place


def test_without_a_mirror_an_unreachable_repo_names_aiter_mirror(monkeypatch, mirror_dir):
    monkeypatch.delenv("AITER_MIRROR", raising=False)
    with pytest.raises(UserError) as err:
        aiter_mirror.prepare(PIN)
    assert str(err.value) == ("cannot reach AITER_REPO /nonexistent/aiter.git to check AITER_BRANCH=v0.1.14; check the "
                              "network, or set AITER_MIRROR to a git bundle or clone of ROCm/aiter")
    assert "\n" not in str(err.value)
