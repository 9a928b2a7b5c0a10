"""The vLLM patch series: apply (with a one-line diagnosis of a failing hunk), mode choice, refresh.

Stdlib only: it also runs inside the vllm image build.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

from .. import REPO_ROOT, UserError

PATCH_ROOT = REPO_ROOT / "images" / "vllm" / "patches"
_FAILED = re.compile(r"patch failed: (?P<file>.+):(?P<line>\d+)")
_MISSING = re.compile(r"error: (?P<file>\S+): (No such file or directory|does not exist in index)")
_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? ")
_REBASE = "rebase the series: make patch-work VLLM_REF=<ref>, fix, make patch-refresh VLLM_REF=<ref>"


def series(ref: str) -> list[Path]:
    d = PATCH_ROOT / ref
    patches = sorted(d.glob("*.patch"))
    if not patches:
        raise UserError(f"no patch series for vLLM {ref} under {d}; create one with `make patch-refresh`")
    return patches


def touched_files(patch: Path) -> list[str]:
    return [line[6:].strip() for line in patch.read_text().splitlines() if line.startswith("+++ b/")]


def mode_for(patches: list[Path]) -> str:
    """overlay when every patch is Python-only (a thin layer on the unpatched build), else full."""
    files = [f for p in patches for f in touched_files(p)]
    return "overlay" if all(f.endswith(".py") for f in files) else "full"


def _hunk_of(patch: Path, file: str, line: int) -> int:
    """1-based index of the hunk of `file` in `patch` that starts at `line` (0 when unknown)."""
    current, n = None, 0
    for text in patch.read_text().splitlines():
        if text.startswith("+++ b/"):
            current, n = text[6:].strip(), 0
        elif current == file and (m := _HUNK.match(text)):
            n += 1
            if int(m.group(1)) == line:
                return n
    return 0


def apply(patches: list[Path], tree: Path) -> None:
    """Apply each patch in order with `git apply`; a failure names patch, file and hunk in one line."""
    for patch in patches:
        cmd = ["git", "apply", "--verbose", "--whitespace=nowarn"]
        # a tree inside another git work tree would make git apply skip paths silently: never look above it
        env = dict(os.environ, GIT_CEILING_DIRECTORIES=str(Path(tree).resolve().parent))
        proc = subprocess.run([*cmd, str(patch.resolve())], cwd=tree, capture_output=True, text=True, env=env)
        if proc.returncode == 0:
            continue
        out = proc.stderr + proc.stdout
        if m := _FAILED.search(out):
            file, line = m.group("file"), int(m.group("line"))
            hunk = _hunk_of(patch, file, line)
            raise UserError(f"patch {patch.name} does not apply: {file} hunk #{hunk} (@@ -{line}) "
                            f"no longer matches; {_REBASE}")
        if m := _MISSING.search(out):
            raise UserError(f"patch {patch.name} does not apply: {m.group('file')} is missing from the tree; "
                            + _REBASE)
        last = out.strip().splitlines()[-1] if out.strip() else "unknown git apply error"
        raise UserError(f"patch {patch.name} does not apply: {last}")


def workspace(src: Path, ref: str, patches: list[Path], dest: Path) -> Path:
    """A git tree of the unpatched source with the series as commits, to edit and then refresh."""
    subprocess.run(["rm", "-rf", str(dest)], check=True)
    subprocess.run(["cp", "-a", str(src), str(dest)], check=True)
    ident = ["-c", "user.name=rocm-vllm-images", "-c", "user.email=rocm-vllm-images@localhost"]
    git = ["git", "-C", str(dest), *ident]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", f"vLLM {ref} (unpatched)"], check=True)
    subprocess.run([*git, "tag", "upstream"], check=True)
    # --keep-non-patch: subjects keep their "[ROCm][DSV4]" tags, so a refresh reproduces the same files
    proc = subprocess.run([*git, "am", "-q", "--keep-non-patch", *[str(p.resolve()) for p in patches]],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        # leave the stopped patch half-applied with .rej files for its failing hunks, the usual way to rebase
        stopped = dest / ".git" / "rebase-apply"
        name = (stopped / "final-commit").read_text().splitlines()[0] if (stopped / "final-commit").is_file() else "?"
        subprocess.run(["git", "apply", "--reject", str(stopped / "patch")], cwd=dest, capture_output=True)
        rejects = sorted(str(r.relative_to(dest)) for r in dest.rglob("*.rej"))
        raise UserError(f"'{name}' stops at vLLM {ref}: fix {', '.join(rejects) or 'the tree'} in {dest}, "
                        f"`git add -A && git am --continue` there, then make patch-refresh VLLM_REF={ref}")
    return dest


def refresh(tree: Path, ref: str, root: Path = PATCH_ROOT) -> list[Path]:
    """Regenerate root/<ref>/ from the commits on top of the `upstream` tag in `tree`."""
    if (tree / ".git" / "rebase-apply").exists():
        raise UserError(f"a patch is still being applied in {tree}: finish it (`git add -A && git am --continue`) "
                        "or drop it (`git am --abort`) first")
    tracked = subprocess.run(["git", "-C", str(tree), "ls-files", "*.rej"], capture_output=True, text=True).stdout
    if tracked.strip():
        raise UserError(f"{tree} has committed .rej files ({tracked.split()[0]} …); remove them, amend, then refresh")
    out = root / ref
    proc = subprocess.run(["git", "-C", str(tree), "format-patch", "--no-signature", "--zero-commit",
                           "-N", "-o", str(out.resolve()) + ".new", "upstream..HEAD"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise UserError(f"{tree} is not a patch workspace (no `upstream` tag); create it with `make patch-work`")
    new = out.with_name(out.name + ".new")
    if not any(new.glob("*.patch")):
        new.rmdir()
        raise UserError(f"no commits on top of upstream in {tree}; nothing to refresh")
    subprocess.run(["rm", "-rf", str(out)], check=True)
    new.rename(out)
    return sorted(out.glob("*.patch"))


def main(argv: list[str] | None = None) -> int:
    """In-image entry: python -m rocm_images.stages.patches --series DIR --tree DIR --mode MODE --stage STAGE."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", type=Path, required=True)
    ap.add_argument("--tree", type=Path, required=True)
    ap.add_argument("--mode", choices=("auto", "overlay", "full"), default="auto")
    ap.add_argument("--stage", choices=("overlay", "full"), required=True,
                    help="which build step is calling; patches are applied only in the matching one")
    a = ap.parse_args(argv)
    patches = sorted(a.series.glob("*.patch"))
    mode = mode_for(patches) if a.mode == "auto" else a.mode
    if mode != a.stage:
        print(f"patch series: mode {mode}; nothing to do in the {a.stage} step")
        return 0
    try:
        apply(patches, a.tree)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"patch series: applied {len(patches)} patch(es) in {mode} mode: " + ", ".join(p.name for p in patches))
    return 0


if __name__ == "__main__":
    sys.exit(main())
