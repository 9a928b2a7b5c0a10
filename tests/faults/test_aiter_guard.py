"""The aiter ref guard against a real git history (a local repository shaped like aiter's releases)."""

from __future__ import annotations

import json
import shutil
import subprocess

import aiter_host
import pytest

from rocm_images import UserError
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


def test_a_directory_calling_itself_a_stand_in_is_refused_too(aiter_repo, tmp_path):
    """No source passes on policy alone: a tree without git history is refused whatever its README says."""
    repo, shas = aiter_repo
    src = _checkout(repo, FLOOR, tmp_path / "src")
    shutil.rmtree(src / ".git")
    (src / "README.md").write_text("# aiter -- SANDBOX STAND-IN (not ROCm/aiter)\n")
    with pytest.raises(UserError, match="is not a git checkout of aiter"):
        aiter_guard.check(src, FLOOR, shas["release"], shas["fix"], FLOOR)


def test_the_real_pinned_aiter_passes_by_ancestry(pin):
    """The clone both profiles build from (AITER_MIRROR or AITER_REPO): the pinned tag carries the fix."""
    src = aiter_host.checkout(pin["AITER_BRANCH"])
    result = aiter_guard.check(src, pin["AITER_BRANCH"], pin["AITER_COMMIT"], pin["AITER_REQUIRED_FIX"],
                               pin["AITER_MIN_VERSION"])
    assert result == {"ref": pin["AITER_BRANCH"], "commit": pin["AITER_COMMIT"], "fix": pin["AITER_REQUIRED_FIX"],
                      "fix_check": "git ancestry"}


def test_the_real_control_aiter_is_refused_and_reported_by_ancestry(pin, tmp_path, capsys):
    """The old-aiter negative control's real v0.1.13: the policy refuses it; report mode (what its build runs)
    records the missing fix by ancestry, and the record is what the image suite fails on."""
    src = aiter_host.checkout(pin["AITER_CONTROL_BRANCH"])
    result = aiter_guard.report(src, pin["AITER_CONTROL_BRANCH"], pin["AITER_REQUIRED_FIX"])
    head = subprocess.run(["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert result["commit"] == head != pin["AITER_COMMIT"]
    assert result["fix_check"] == (f"git ancestry: MISSING, {pin['AITER_REQUIRED_FIX'][:12]} is not an ancestor of "
                                   f"{head[:12]}")
    code = aiter_guard.main(["--src", str(src), "--mode", "report", "--branch", pin["AITER_CONTROL_BRANCH"],
                             "--commit", pin["AITER_COMMIT"], "--fix", pin["AITER_REQUIRED_FIX"],
                             "--min", pin["AITER_MIN_VERSION"], "--out", str(tmp_path / "guard.json")])
    assert code == 0 and json.loads((tmp_path / "guard.json").read_text()) == result
    code = aiter_guard.main(["--src", str(src), "--branch", pin["AITER_CONTROL_BRANCH"], "--commit", head,
                             "--fix", pin["AITER_REQUIRED_FIX"], "--min", pin["AITER_CONTROL_BRANCH"],
                             "--out", str(tmp_path / "enforced.json")])
    assert code == 2 and not (tmp_path / "enforced.json").exists()
    assert "lacks the mhc sqrsum race fix" in capsys.readouterr().err
