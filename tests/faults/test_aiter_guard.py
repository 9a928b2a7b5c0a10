"""The aiter ref guard against a real git history (a local repository shaped like aiter's releases)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from rocm_images import REPO_ROOT, UserError
from rocm_images.stages import aiter_guard

FLOOR = "v0.1.14"


def _git(cwd, *args: str) -> str:
    ident = ["-c", "user.name=t", "-c", "user.email=t@t.invalid"]
    return subprocess.run(["git", *ident, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def _commit(repo, name: str) -> str:
    (repo / "f").write_text(name)
    _git(repo, "add", "f")
    _git(repo, "commit", "-qm", name)
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def aiter_repo(tmp_path_factory):
    """v0.1.13 -> fix -> v0.1.14 on main; v0.1.15 tagged on a branch cut before the fix (a release lacking it)."""
    repo = tmp_path_factory.mktemp("aiter")
    _git(repo, "init", "-q", "-b", "main")
    shas = {"base": _commit(repo, "base")}
    _git(repo, "tag", "v0.1.13")
    shas["fix"] = _commit(repo, "fix: mhc_pre_gemm_sqrsum_kernel race")
    shas["release"] = _commit(repo, "release")
    _git(repo, "tag", FLOOR)
    _git(repo, "checkout", "-q", "-b", "no-fix", shas["base"])
    shas["v0.1.15"] = _commit(repo, "release without the fix")
    _git(repo, "tag", "v0.1.15")
    return repo, shas


def _checkout(repo, ref, dest):
    subprocess.run(["git", "clone", "-q", str(repo), str(dest)], check=True)
    subprocess.run(["git", "-C", str(dest), "checkout", "-q", ref], check=True)
    return dest


def test_release_with_the_fix_passes_by_ancestry(aiter_repo, tmp_path):
    repo, shas = aiter_repo
    src = _checkout(repo, FLOOR, tmp_path / "src")
    result = aiter_guard.check(src, FLOOR, shas["release"], shas["fix"], FLOOR)
    assert result["fix_check"] == "git ancestry"


def test_ref_lacking_the_fix_is_refused(aiter_repo, tmp_path):
    repo, shas = aiter_repo
    src = _checkout(repo, "v0.1.15", tmp_path / "src")
    with pytest.raises(UserError, match=r"AITER_BRANCH=v0.1.15 \(\w{12}\) lacks the mhc sqrsum race fix"):
        aiter_guard.check(src, "v0.1.15", shas["v0.1.15"], shas["fix"], FLOOR)


def test_commit_pin_that_disagrees_with_the_ref_is_refused(aiter_repo, tmp_path):
    repo, shas = aiter_repo
    src = _checkout(repo, FLOOR, tmp_path / "src")
    with pytest.raises(UserError, match="resolves to .* but AITER_COMMIT=.*update AITER_COMMIT"):
        aiter_guard.check(src, FLOOR, shas["base"], shas["fix"], FLOOR)


def test_ref_that_does_not_exist_is_named(aiter_repo):
    repo, _ = aiter_repo
    aiter_guard.require_ref(str(repo), FLOOR)
    with pytest.raises(UserError, match=r"AITER_BRANCH=v9.9.9 does not exist in .*git ls-remote --tags"):
        aiter_guard.require_ref(str(repo), "v9.9.9")


def test_unreachable_repo_suggests_the_sandbox(tmp_path):
    with pytest.raises(UserError, match="cannot reach AITER_REPO .*PROFILE=sandbox"):
        aiter_guard.require_ref(str(tmp_path / "missing.git"), FLOOR)


def test_in_build_guard_exits_2_with_one_line(aiter_repo, tmp_path, capsys):
    repo, shas = aiter_repo
    src = _checkout(repo, "v0.1.15", tmp_path / "src")
    code = aiter_guard.main(["--src", str(src), "--branch", "v0.1.15", "--commit", shas["v0.1.15"], "--fix",
                             shas["fix"], "--min", FLOOR, "--out", str(tmp_path / "out.json")])
    assert code == 2 and not (tmp_path / "out.json").exists()
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("error: aiter guard: AITER_BRANCH=v0.1.15")


def test_plain_directory_source_is_refused_in_one_line(aiter_repo, tmp_path, capsys):
    """A production aiter source without .git (a tarball, an exported tree) cannot prove the fix: refused, not
    waved through as 'policy-only'."""
    repo, shas = aiter_repo
    src = _checkout(repo, FLOOR, tmp_path / "src")
    shutil.rmtree(src / ".git")
    (src / "README.md").write_text("# aiter\nAI Tensor Engine for ROCm\n")
    with pytest.raises(UserError, match=rf"{src} is not a git checkout of aiter; the fix {shas['fix'][:7]} cannot"):
        aiter_guard.check(src, FLOOR, shas["release"], shas["fix"], FLOOR)
    code = aiter_guard.main(["--src", str(src), "--branch", FLOOR, "--commit", shas["release"], "--fix",
                             shas["fix"], "--min", FLOOR, "--out", str(tmp_path / "out.json")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and not (tmp_path / "out.json").exists()
    assert "\n" not in err and "is not a git checkout of aiter" in err


def test_only_the_labelled_sandbox_standin_passes_on_policy(pin):
    standin = REPO_ROOT / "images" / "rocm_base" / "sandbox-aiter"
    result = aiter_guard.check(standin, pin["AITER_BRANCH"], pin["AITER_COMMIT"], pin["AITER_REQUIRED_FIX"],
                               pin["AITER_MIN_VERSION"])
    assert result["fix_check"] == "policy-only (sandbox stand-in: no aiter git history)"
