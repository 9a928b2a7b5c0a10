"""vLLM's requirements as the images install them: includes expanded, a profile's drop list applied, every drop
reasoned and still present upstream (the real, sha256-checked sdist of the pinned release)."""

from __future__ import annotations

import pytest

from rocm_images import REPO_ROOT, UserError
from rocm_images.host import graph
from rocm_images.stages import requirements

DROPS = REPO_ROOT / "images" / "vllm" / "requirements-drop"


@pytest.fixture(scope="module")
def upstream(pin) -> list[str]:
    return requirements.expand(graph.vllm_source(pin) / "requirements" / "rocm.txt")


def test_includes_are_expanded_and_comments_dropped(upstream):
    names = {requirements.project(line) for line in upstream}
    assert {"tilelang", "timm", "fastapi", "transformers", "xgrammar"} <= names  # rocm.txt and common.txt
    assert not any(line.startswith(("-r", "#")) or " #" in line for line in upstream)


def test_production_drops_nothing(upstream):
    kept, dropped = requirements.select(upstream, requirements.drop_list(DROPS / "production" / "drop.txt"))
    assert kept == upstream and dropped == []


def test_every_sandbox_drop_is_upstream_and_has_a_reason(upstream):
    drops = requirements.drop_list(DROPS / "sandbox" / "drop.txt")
    kept, dropped = requirements.select(upstream, drops)
    assert dropped == sorted(drops) and all(drops.values())
    assert len(kept) == len(upstream) - len(dropped)
    assert len(dropped) <= 5, "the sandbox is production with other sources: keep this list short"


def test_a_stale_drop_is_an_error(upstream):
    with pytest.raises(UserError, match="the drop list names not-a-vllm-dependency, which the requirements no"):
        requirements.select(upstream, {"not-a-vllm-dependency": "gone upstream"})


def test_a_drop_without_a_reason_is_refused(tmp_path):
    (tmp_path / "drop.txt").write_text("timm\n")
    with pytest.raises(UserError, match=r"drop.txt:1: 'timm' has no reason; write `name  # why`"):
        requirements.drop_list(tmp_path / "drop.txt")


@pytest.mark.parametrize("line,name", [("Foo_Bar.baz>=1", "foo-bar-baz"), ("fastapi[standard] >= 0.115", "fastapi"),
                                       ("six>=1.16.0; python_version > '3.11'", "six"), ("tilelang==1.2", "tilelang")])
def test_project_names_are_normalised(line, name):
    assert requirements.project(line) == name


def test_an_include_cycle_is_named(tmp_path):
    (tmp_path / "a.txt").write_text("-r b.txt\n")
    (tmp_path / "b.txt").write_text("-r a.txt\n")
    with pytest.raises(UserError, match="includes itself"):
        requirements.expand(tmp_path / "a.txt")


def test_the_aiter_drop_lists_fit_the_real_aiter_requirements(pin, repo):
    """Production drops nothing of aiter's list; the old-aiter control's sandbox list drops exactly flydsl from the
    real AITER_CONTROL_BRANCH's requirements.txt (a stale line there would fail the build the same way)."""
    import aiter_host

    lists = repo / "images" / "rocm_base" / "aiter-requirements-drop"
    assert requirements.drop_list(lists / "production" / "drop.txt") == {}
    control = requirements.expand(aiter_host.checkout(pin["AITER_CONTROL_BRANCH"]) / "requirements.txt")
    kept, dropped = requirements.select(control, requirements.drop_list(lists / "sandbox-old-aiter" / "drop.txt"))
    assert dropped == ["flydsl"] and "flydsl==0.1.4" in control and len(kept) == len(control) - 1
