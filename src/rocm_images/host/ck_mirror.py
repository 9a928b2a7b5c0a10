"""Where the sandbox's composable_kernel (the ck_tile headers aiter's mhc kernels include) comes from: CK_REPO
(versions.env: the network repository), or a local mirror.

CK_MIRROR (environment or `make image CK_MIRROR=...`) names a git bundle or a clone of ROCm/composable_kernel; the
CLI mirrors it into build/ck-mirror/ck.git, the `ck-mirror` context of the ck_clone stage (docker/Dockerfile.sandbox),
which checks out CK_COMMIT. Without it, that directory is empty and the clone reads CK_REPO over the network.
Production has no such source: aiter's own CK submodule arrives with aiter.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from .. import REPO_ROOT, UserError
from . import git_mirror

MIRROR_DIR = REPO_ROOT / "build" / "ck-mirror"  # the named context
IN_BUILD = "/mirror/ck.git"  # where the ck_clone stage sees it
WHAT = "ROCm/composable_kernel"


def prepare(pin: dict[str, str]) -> dict[str, str]:
    """The bake variables of the sandbox's CK source, after checking that a mirror holds CK_COMMIT."""
    source = git_mirror.configured("CK_MIRROR", WHAT)
    if source is None:
        try:
            reach = subprocess.run(["git", "ls-remote", "--heads", pin["CK_REPO"]], capture_output=True, text=True,
                                   timeout=60, env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
            reached = reach.returncode == 0
        except subprocess.TimeoutExpired:  # a hanging network is unreachable too: one line, not a traceback
            reached = False
        if not reached:
            raise UserError(f"cannot reach CK_REPO {pin['CK_REPO']}; check the network, or set CK_MIRROR to a git "
                            f"bundle or clone of {WHAT} that holds CK_COMMIT={pin['CK_COMMIT'][:12]}")
        git_mirror.empty(MIRROR_DIR)
        return named()
    git_dir = git_mirror.mirror("CK_MIRROR", source, MIRROR_DIR, "ck.git")
    has = subprocess.run(["git", "--git-dir", str(git_dir), "cat-file", "-e", f"{pin['CK_COMMIT']}^{{commit}}"],
                         capture_output=True)
    if has.returncode != 0:
        shutil.rmtree(MIRROR_DIR, ignore_errors=True)
        raise UserError(f"CK_MIRROR={source} lacks CK_COMMIT={pin['CK_COMMIT']} (versions.env); refresh the bundle "
                        f"or clone from {WHAT}")
    return named()


def named() -> dict[str, str]:
    """The same variables without touching anything (for --print)."""
    return git_mirror.named("CK_MIRROR", MIRROR_DIR, "CK_MIRROR_DIR", "SANDBOX_CK_REPO", IN_BUILD)
