"""The mutation catalogue stays applicable: every planted defect still matches the code once, names tests that
exist, and changes the file (so `make mutate` measures today's guards, not last month's)."""

from __future__ import annotations

import ast
import shutil

import pytest

from rocm_images import REPO_ROOT, UserError
from rocm_images.host import mutate

MUTANTS = mutate.load()


def test_ids_are_unique_and_cover_the_guards_issue_16_named():
    ids = [m.id for m in MUTANTS]
    assert len(ids) == len(set(ids))
    assert {"gpu-arch-minor", "aiter-guard-accepts-any-non-git-source", "verify-after-tag",
            "candidates-removed-on-success-only", "patch-mode-any-python", "push-moving-tag-first",
            "decoder-forces-fused-mhc", "aiter-floor-rc-above-release", "aiter-floor-lexical"} <= set(ids)


@pytest.mark.parametrize("m", MUTANTS, ids=lambda m: m.id)
def test_mutant_plants_once_and_names_existing_tests(m, tmp_path):
    (tmp_path / m.file).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPO_ROOT / m.file, tmp_path / m.file)
    mutate.plant(m, tmp_path)
    assert (tmp_path / m.file).read_text() != (REPO_ROOT / m.file).read_text()
    for test in m.tests:
        path, _, name = test.partition("::")
        assert (REPO_ROOT / path).is_file(), test
        if name:
            defined = {n.name for n in ast.walk(ast.parse((REPO_ROOT / path).read_text()))
                       if isinstance(n, ast.FunctionDef)}
            assert name in defined, test


def test_a_stale_mutant_is_one_line_naming_it(tmp_path):
    m = mutate.Mutant("stale", "g", "f.py", [("not in the file", "x")], ["tests/unit"])
    (tmp_path / "f.py").write_text("pass\n")
    with pytest.raises(UserError, match=r"^mutant stale: 'not in the file' occurs 0 times in f.py; update"):
        mutate.plant(m, tmp_path)


@pytest.mark.parametrize("code,failures,errors,outcome", [
    (0, 0, 0, "SURVIVED"), (1, 1, 0, "killed"), (1, 2, 1, "killed"),
    (1, 0, 1, "ERROR (1 test error(s), no failure)"), (5, 0, 0, "ERROR (pytest exit 5)")])
def test_only_a_failing_test_kills_a_mutant(tmp_path, code, failures, errors, outcome):
    report = tmp_path / "r.xml"
    report.write_text(f'<testsuites><testsuite name="pytest" errors="{errors}" failures="{failures}" tests="3"/>'
                      "</testsuites>")
    assert mutate.verdict(code, report) == outcome


def test_an_engine_mutant_leaves_no_images(monkeypatch, tmp_path):
    """A full `make mutate` once filled the disk with the scratch trees' images: each engine mutant cleans up."""
    from rocm_images.host import cleanup

    cleaned = []
    monkeypatch.setattr(cleanup, "clean", lambda: cleaned.append(True) or [])
    monkeypatch.setattr(mutate, "SCRATCH", tmp_path)
    monkeypatch.setattr(mutate, "scratch_copy", lambda dest: dest.mkdir(parents=True) or dest)
    monkeypatch.setattr(mutate, "plant", lambda m, root: None)
    monkeypatch.setattr(mutate.subprocess, "run", lambda *a, **k: type("P", (), {"returncode": 0})())
    for engine in (False, True):
        mutate.run_one(mutate.Mutant(f"x-{engine}", "g", "f", [], ["tests/unit"], engine))
    assert cleaned == [True]
