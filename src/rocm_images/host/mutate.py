"""`make mutate`: plant each defect of tests/mutations.toml in a scratch copy of the tree, run only the tests
that should catch it, and print a table. A defect that survives (or could not be planted or tested) is an error."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

from .. import REPO_ROOT, UserError

CATALOGUE = REPO_ROOT / "tests" / "mutations.toml"
SCRATCH = REPO_ROOT / "build" / "mutate"
TIMEOUT_S = 1800


@dataclass
class Mutant:
    id: str
    guard: str
    file: str
    edits: list[tuple[str, str]]
    tests: list[str]
    engine: bool = False
    outcome: str = field(default="", init=False)
    seconds: float = field(default=0.0, init=False)


def load(path: Path = CATALOGUE) -> list[Mutant]:
    entries = tomllib.loads(path.read_text())["mutant"]
    return [Mutant(e["id"], e["guard"], e["file"], [tuple(x) for x in e["edits"]], e["tests"], e.get("engine", False))
            for e in entries]


def plant(m: Mutant, root: Path) -> None:
    """Apply the mutant's edits to root/<file>; each `find` must occur exactly once (else the catalogue rotted)."""
    target = root / m.file
    text = target.read_text()
    for find, replace in m.edits:
        if text.count(find) != 1:
            raise UserError(f"mutant {m.id}: {find.splitlines()[0]!r} occurs {text.count(find)} times in {m.file}; "
                            "update tests/mutations.toml to the current code")
        text = text.replace(find, replace)
    target.write_text(text)


def scratch_copy(dest: Path) -> Path:
    """The working tree as git sees it (tracked and untracked, not ignored), without build outputs or the venv."""
    shutil.rmtree(dest, ignore_errors=True)
    files = subprocess.run(["git", "-C", str(REPO_ROOT), "ls-files", "-z", "--cached", "--others",
                            "--exclude-standard"], capture_output=True, text=True, check=True).stdout.split("\0")
    for rel in filter(None, files):
        src = REPO_ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


def run_one(m: Mutant) -> Mutant:
    root = scratch_copy(SCRATCH / m.id)
    start = time.monotonic()
    try:
        plant(m, root)
    except UserError as e:
        m.outcome, m.seconds = f"NOT PLANTED: {e}", 0.0
        return m
    # the scratch tree's package first; the sdist download cache is shared so no test re-downloads it
    env = dict(os.environ, PYTHONPATH=str(root / "src"), ROCM_IMAGES_CACHE=str(REPO_ROOT / "build" / "cache"))
    report = root / "mutate-report.xml"
    try:
        proc = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                               f"--junitxml={report}", *m.tests],
                              cwd=root, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        code = -1
    finally:
        if m.engine:  # its tests built images of the scratch tree and did not reach the suite's clean-up
            from . import cleanup

            cleanup.clean()
    m.seconds = time.monotonic() - start
    m.outcome = verdict(code, report)
    if m.outcome == "killed":
        shutil.rmtree(root, ignore_errors=True)
    return m


def verdict(code: int, report: Path) -> str:
    """killed only when a test FAILED: pytest's exit 1 also covers errors in fixtures (a scratch tree that could
    not build, say), which say nothing about the guard."""
    if code == 0:
        return "SURVIVED"
    if code != 1 or not report.is_file():
        return f"ERROR (pytest exit {code})"
    suite = ElementTree.parse(report).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    failures, errors = int(suite.get("failures", 0)), int(suite.get("errors", 0))
    return "killed" if failures else f"ERROR ({errors} test error(s), no failure)"


def table(mutants: list[Mutant]) -> str:
    rows = ["| defect | guard | result | seconds |", "|---|---|---|---|"]
    rows += [f"| {m.id} | {m.guard} | {m.outcome} | {m.seconds:.1f} |" for m in mutants]
    return "\n".join(rows)


def run(select: str = "", engine: bool = True) -> None:
    mutants = [m for m in load() if (not select or select in m.id) and (engine or not m.engine)]
    if not mutants:
        raise UserError(f"no mutant matches {select!r}; see the ids in tests/mutations.toml")
    for m in mutants:
        print(f"mutate: {m.id} …", flush=True)
        run_one(m)
        print(f"mutate: {m.id}: {m.outcome} ({m.seconds:.0f} s)", flush=True)
    print(table(mutants))
    bad = [m.id for m in mutants if m.outcome != "killed"]
    if bad:
        raise UserError(f"{len(bad)} planted defect(s) not killed: {', '.join(bad)}; their scratch trees are kept "
                        f"under {SCRATCH.relative_to(REPO_ROOT)} to inspect")
