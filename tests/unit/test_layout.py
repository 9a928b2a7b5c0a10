"""The repository layout the brief promises, and that every test directory actually runs."""

from __future__ import annotations

import tomllib

from rocm_images import REPO_ROOT

TOP_LEVEL = ("docker", "bake.hcl", "images", "tests", "Makefile", "versions.env", "README.md", "src/rocm_images")


def test_every_test_directory_is_collected():
    paths = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["testpaths"]
    on_disk = {f"tests/{d.name}" for d in (REPO_ROOT / "tests").iterdir() if d.is_dir() and any(d.glob("test_*.py"))}
    assert set(paths) == on_disk  # a directory left out of testpaths would silently never run


def test_top_level_layout():
    assert [p for p in TOP_LEVEL if not (REPO_ROOT / p).exists()] == []
