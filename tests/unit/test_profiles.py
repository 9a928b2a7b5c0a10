"""The sandbox is production with other sources: every override in bake.sandbox.hcl is a row of the profile
table in docs/profiles.md (and every row still is an override), read with python-hcl2. A target bake.hcl does
not have is a sandbox-only source (it builds what a named context points at) and is a row itself."""

from __future__ import annotations

import re
from pathlib import Path

import hcl2

from rocm_images import REPO_ROOT


def _unquote(name: str) -> str:
    return name.strip('"')


def sandbox_overrides(sandbox_file: Path = REPO_ROOT / "bake.sandbox.hcl") -> set[str]:
    sandbox = hcl2.load(sandbox_file.open())
    base = hcl2.load((REPO_ROOT / "bake.hcl").open())
    base_vars = {_unquote(k) for block in base.get("variable", []) for k in block}
    base_targets = {_unquote(k) for block in base.get("target", []) for k in block}
    found = set()
    for block in sandbox.get("target", []):
        for name, body in block.items():
            if _unquote(name) not in base_targets:
                found.add(f"target `{_unquote(name)}`")
                continue
            found |= {f"context `{k}`" for k in body.get("contexts", {})}
            found |= {f"arg `{k}`" for k in body.get("args", {})}
            assert set(body) <= {"contexts", "args", "__is_block__"}, f"sandbox overrides more than sources: {body}"
    for block in sandbox.get("variable", []):
        for name in block:
            if _unquote(name) in base_vars:  # a production variable given another default
                found.add(f"variable `{_unquote(name)}`")
    return found


def table_rows() -> set[str]:
    text = (REPO_ROOT / "docs" / "profiles.md").read_text()
    table = text.split("| difference | production | sandbox | why |", 1)[1].split("\n\n", 1)[0]
    return {m.group(1) for m in re.finditer(r"^\| ((?:context|arg|variable|target) `[^`]+`) \|", table, re.M)}


def test_every_sandbox_override_is_a_profile_table_row_and_back():
    assert sandbox_overrides() == table_rows()


def test_an_unlisted_override_would_be_caught(tmp_path):
    """The check above can fail: one more arg in the sandbox file is an override the table does not list."""
    sandbox = tmp_path / "bake.sandbox.hcl"
    extra = '\ntarget "_common" {\n  args = { MAX_JOBS = "1" }\n}\n'
    sandbox.write_text((REPO_ROOT / "bake.sandbox.hcl").read_text() + extra)
    assert sandbox_overrides(sandbox) - table_rows() == {"arg `MAX_JOBS`"}
