"""Where the sandbox's aiter comes from: AITER_REPO (versions.env: the network repository), or a local mirror.

AITER_MIRROR (environment or `make image AITER_MIRROR=...`) names a git bundle or a clone of ROCm/aiter; the CLI
mirrors it into build/aiter-mirror/aiter.git, which bake hands the build as the `aiter-mirror` context, and the
aiter_clone stage clones from there. Without it, that directory is empty and the clone reads AITER_REPO over the
network, as production does.
Either way the build clones real aiter history, so the guard checks the fix by ancestry in both profiles.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from .. import REPO_ROOT, UserError
from ..stages import aiter_guard
from . import git_mirror

MIRROR_DIR = REPO_ROOT / "build" / "aiter-mirror"  # the named context
IN_BUILD = "/mirror/aiter.git"  # where the aiter_clone stage sees it (docker/Dockerfile.rocm_base)


def configured() -> Path | None:
    """AITER_MIRROR as a path, checked: a readable git bundle or git repository."""
    return git_mirror.configured("AITER_MIRROR", "ROCm/aiter")


def _tags(git_dir: Path) -> set[str]:
    out = subprocess.run(["git", "--git-dir", str(git_dir), "tag", "--list"], capture_output=True, text=True)
    return set(out.stdout.split())


def prepare(pin: dict[str, str]) -> dict[str, str]:
    """The bake variables of the sandbox's aiter source, after checking the refs the build checks out exist."""
    source = configured()
    refs = (pin["AITER_BRANCH"], pin["AITER_CONTROL_BRANCH"])
    if source is None:
        try:
            aiter_guard.require_ref(pin["AITER_REPO"], pin["AITER_BRANCH"], timeout=30)
        except UserError as e:
            if not str(e).startswith("cannot reach"):
                raise
            raise UserError(f"cannot reach AITER_REPO {pin['AITER_REPO']} to check AITER_BRANCH={pin['AITER_BRANCH']}; "
                            "check the network, or set AITER_MIRROR to a git bundle or clone of ROCm/aiter") from None
        git_mirror.empty(MIRROR_DIR)
        return named()
    git_dir = git_mirror.mirror("AITER_MIRROR", source, MIRROR_DIR, "aiter.git")
    lacking = [r for r in refs if r not in _tags(git_dir)]
    if lacking:
        shutil.rmtree(MIRROR_DIR, ignore_errors=True)
        raise UserError(f"AITER_MIRROR={source} lacks the tag(s) {', '.join(lacking)} (AITER_BRANCH, "
                        "AITER_CONTROL_BRANCH in versions.env); refresh the bundle or clone from ROCm/aiter")
    return named()


def named() -> dict[str, str]:
    """The same variables without touching anything (for --print)."""
    return git_mirror.named("AITER_MIRROR", MIRROR_DIR, "AITER_MIRROR_DIR", "SANDBOX_AITER_REPO", IN_BUILD)
