"""A local mirror of a git source the sandbox clones (aiter, composable_kernel): the environment variable names a git
bundle or clone, the CLI mirrors it into a build/ directory that bake hands the build as a named context. Shared by
aiter_mirror and ck_mirror."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .. import REPO_ROOT, UserError


def configured(var: str, what: str) -> Path | None:
    """The variable `var` as a path, checked: a readable git bundle or git repository of `what`."""
    value = os.environ.get(var, "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.exists():
        raise UserError(f"{var}={value} does not exist; point it at a git bundle or clone of {what}, "
                        "or unset it to clone over the network")
    probe = (["git", "bundle", "list-heads", str(path)] if path.is_file()
             else ["git", "--git-dir", str(path / ".git") if (path / ".git").exists() else str(path), "rev-parse"])
    if subprocess.run(probe, capture_output=True, text=True).returncode != 0:
        raise UserError(f"{var}={value} is neither a git bundle nor a git repository; point it at a "
                        f"bundle (`git bundle create x.bundle --all`) or a clone of {what}")
    return path


def mirror(var: str, source: Path, mirror_dir: Path, name: str) -> Path:
    """mirror_dir/name: a `git clone --mirror` of source, fetched in place when it is the same source (a fresh
    clone would change every file's metadata and with it the build context)."""
    git_dir = mirror_dir / name
    record = mirror_dir / "source"
    if git_dir.is_dir() and record.is_file() and record.read_text() == str(source):
        proc = subprocess.run(["git", "--git-dir", str(git_dir), "remote", "update", "--prune"], capture_output=True,
                              text=True)
    else:
        shutil.rmtree(mirror_dir, ignore_errors=True)
        mirror_dir.mkdir(parents=True)
        proc = subprocess.run(["git", "clone", "--quiet", "--mirror", str(source), str(git_dir)], capture_output=True,
                              text=True)
        record.write_text(str(source))
    if proc.returncode != 0:
        shutil.rmtree(mirror_dir, ignore_errors=True)
        last = (proc.stderr.strip().splitlines() or ["git failed"])[-1]
        raise UserError(f"cannot mirror {var}={source} ({last}); check that it is readable and complete")
    return git_dir


def empty(mirror_dir: Path) -> None:
    """No mirror: the context is an empty directory and the build clones over the network."""
    shutil.rmtree(mirror_dir, ignore_errors=True)
    mirror_dir.mkdir(parents=True)


def named(var: str, mirror_dir: Path, dir_var: str, repo_var: str, in_build: str) -> dict[str, str]:
    """The bake variables of a mirror without touching anything (for --print): its directory, and the repository
    the build clones (`in_build`, the mirror context) when `var` names a mirror."""
    found = {dir_var: os.path.relpath(mirror_dir, REPO_ROOT)}
    return {**found, repo_var: in_build} if os.environ.get(var, "").strip() else found
