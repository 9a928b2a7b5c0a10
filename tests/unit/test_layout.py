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


PKG = REPO_ROOT / "src" / "rocm_images"


def host_imports(path) -> list[str]:
    """The modules `path` (a module of rocm_images/<sub>/) imports from rocm_images.host, resolved."""
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            # level 2 (from ..x import y) resolves against rocm_images; level 1 stays inside the subpackage
            base = f"rocm_images.{node.module}" if node.level == 2 and node.module else (
                "rocm_images" if node.level == 2 else node.module or "")
            found |= {m for m in (base, *(f"{base}.{a.name}" for a in node.names)) if m.startswith("rocm_images.host")}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("rocm_images.host")}
    return sorted(found)


def test_stages_and_image_code_never_import_host_tooling():
    """What runs in build stages and inside the images stands alone: no CLI, engine installer or pusher."""
    for sub in ("stages", "image"):
        for module in (PKG / sub).glob("*.py"):
            assert host_imports(module) == [], module


def test_a_host_import_would_be_caught(tmp_path):
    (tmp_path / "image").mkdir()
    bad = tmp_path / "image" / "m.py"
    bad.write_text("from ..host import bake\nfrom rocm_images.host.push import run\n")
    assert host_imports(bad) == ["rocm_images.host", "rocm_images.host.bake", "rocm_images.host.push",
                                 "rocm_images.host.push.run"]


def test_every_module_lives_in_one_of_the_three_places():
    assert sorted(p.name for p in PKG.glob("*.py")) == ["__init__.py", "__main__.py"]
