"""docs/errors.md and the tests stay in step: every row names tests that exist, and there are enough rows."""

from __future__ import annotations

import ast
import re

from rocm_images import REPO_ROOT

DOC = REPO_ROOT / "docs" / "errors.md"
REF = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def _rows() -> list[str]:
    return [line for line in DOC.read_text().splitlines() if re.match(r"\| \d+ \|", line)]


def _test_names(path: str) -> set[str]:
    tree = ast.parse((REPO_ROOT / path).read_text())
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")}


def test_at_least_twenty_failure_modes_each_with_a_test():
    rows = _rows()
    assert len(rows) >= 20
    for row in rows:
        refs = REF.findall(row)
        assert refs, f"row without a test: {row[:80]}"
        for path, name in refs:
            assert name in _test_names(path), f"{path}::{name} does not exist"


def test_rows_are_numbered_in_order_and_linked_from_the_readme():
    assert [int(r.split("|")[1]) for r in _rows()] == list(range(1, len(_rows()) + 1))
    assert "docs/errors.md" in (REPO_ROOT / "README.md").read_text()

