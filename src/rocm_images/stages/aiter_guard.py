"""Build-time guard: the aiter checkout must be a release >= the floor and contain the sqrsum race fix.

Runs inside the rocm_base build (stdlib only), on the git clone of AITER_REPO at AITER_BRANCH that both profiles
make (the sandbox's AITER_REPO is a local mirror): the fix is checked by git ancestry. Mode `report` (the
old-aiter negative control) records what ancestry finds instead of failing, so that image carries the finding.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from .. import UserError
from .pins import check_aiter_policy

ANCESTRY = "git ancestry"


def _git(src: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(src), *args], capture_output=True, text=True)


def _head(src: Path, fix: str) -> str:
    """The checkout's commit, after checking that it is a git checkout holding the fix's object."""
    if not (src / ".git").exists():
        raise UserError(f"{src} is not a git checkout of aiter; the fix {fix[:7]} cannot be verified; "
                        "build from a full git clone of AITER_REPO (not a tarball or exported tree)")
    if _git(src, "cat-file", "-e", f"{fix}^{{commit}}").returncode != 0:
        raise UserError(f"aiter fix {fix} is not in the clone of {src}; use a full (non-shallow) clone")
    return _git(src, "rev-parse", "HEAD^{commit}").stdout.strip()


def _has_fix(src: Path, head: str, fix: str) -> bool:
    return _git(src, "merge-base", "--is-ancestor", fix, head).returncode == 0


def check(src: Path, branch: str, commit: str, fix: str, floor: str) -> dict[str, str]:
    check_aiter_policy({"AITER_BRANCH": branch, "AITER_MIN_VERSION": floor, "AITER_COMMIT": commit,
                        "AITER_REQUIRED_FIX": fix})
    head = _head(src, fix)
    if head != commit:
        raise UserError(f"AITER_BRANCH={branch} resolves to {head}, but AITER_COMMIT={commit}; "
                        "update AITER_COMMIT in versions.env (use `git rev-parse <tag>^{commit}`)")
    if not _has_fix(src, head, fix):
        raise UserError(f"AITER_BRANCH={branch} ({head[:12]}) lacks the mhc sqrsum race fix {fix[:12]}; "
                        "use a release that contains it")
    return {"ref": branch, "commit": head, "fix": fix, "fix_check": ANCESTRY}


def report(src: Path, branch: str, fix: str) -> dict[str, str]:
    """What ancestry finds, without the policy floor or the pinned commit (the negative control's old aiter)."""
    head = _head(src, fix)
    missing = f"{ANCESTRY}: MISSING, {fix[:12]} is not an ancestor of {head[:12]}"
    found = ANCESTRY if _has_fix(src, head, fix) else missing
    return {"ref": branch, "commit": head, "fix": fix, "fix_check": found}


def require_ref(repo: str, ref: str, timeout: float = 60) -> None:
    """Preflight before a production build: the aiter tag/branch must exist in AITER_REPO."""
    try:
        out = subprocess.run(["git", "ls-remote", repo, f"refs/tags/{ref}", f"refs/heads/{ref}"], capture_output=True,
                             text=True, timeout=timeout, env=dict(os.environ, GIT_TERMINAL_PROMPT="0"))
    except subprocess.TimeoutExpired:
        out = None
    if out is None or out.returncode != 0:
        raise UserError(f"cannot reach AITER_REPO {repo} to check AITER_BRANCH={ref}; check the network, "
                        "or build offline with `make image PROFILE=sandbox`")
    if not out.stdout.strip():
        raise UserError(f"AITER_BRANCH={ref} does not exist in {repo}; pick a release tag from "
                        f"`git ls-remote --tags {repo}` and update versions.env")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--src", type=Path, required=True)
    ap.add_argument("--mode", choices=("enforce", "report"), default="enforce")
    for name in ("branch", "commit", "fix", "min", "out"):
        ap.add_argument(f"--{name}", required=True)
    a = ap.parse_args(argv)
    try:
        if a.mode == "report":  # only the negative-control test target builds like this
            result = report(a.src, a.branch, a.fix)
            print(f"aiter guard: REPORT only for {a.branch} (negative-control build): {result['fix_check']}",
                  file=sys.stderr)
        else:
            result = check(a.src, a.branch, a.commit, a.fix, a.min)
    except UserError as e:
        print(f"error: aiter guard: {e}", file=sys.stderr)
        return 2
    Path(a.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"aiter guard: {a.branch} at {result['commit'][:12]}: {result['fix_check']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
