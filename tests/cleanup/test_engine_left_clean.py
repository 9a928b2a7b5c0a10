"""Runs last (pyproject testpaths): the suite removes what it made, and the engine keeps only what `make image`
makes and what was there before. KEEP_TEST_IMAGES=1 skips the removal (to debug a failure)."""

from __future__ import annotations

import os
import subprocess

import fixture_images
import pytest

from rocm_images.host import cleanup, graph, sandbox_base


def what_make_image_makes(pin: dict[str, str]) -> set[str]:
    """The tags bake computes for `make image` (default prefix and TAG), and the sandbox bases it may create."""
    env = graph.environment("sandbox", "latest", pin, prepare=False)
    env.pop("IMAGE_PREFIX", None)  # the suite's own prefix; `make image` uses bake.hcl's default
    made = {t for r in graph.records("sandbox", list(graph.DEFAULT_TARGETS), env).values() for t in r.tags}
    return made | {sandbox_base.image_ref(pin), sandbox_base.image_ref(pin, compiler=True)}


def test_leftovers_are_found_by_label_not_by_name(tmp_path):
    """A labelled test image is found (and removed); an unlabelled image under the same name is not ours."""
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY Dockerfile /x\n")
    ours, theirs = f"{cleanup.TEST_PREFIX}/probe:label", f"{cleanup.TEST_PREFIX}/probe:nolabel"
    fixture_images.build(tmp_path, ours)
    fixture_images.build(tmp_path, theirs, ours=False)
    try:
        assert ours in cleanup.leftovers() and theirs not in cleanup.leftovers()
        assert ours in cleanup.clean()
        assert ours not in cleanup.leftovers()
    finally:
        subprocess.run(["docker", "image", "rm", "-f", ours, theirs], capture_output=True)


def test_make_test_leaves_only_what_make_image_makes(images_before, pin):
    if os.environ.get("KEEP_TEST_IMAGES") == "1":
        pytest.skip("KEEP_TEST_IMAGES=1: the suite's images are kept for debugging (`make clean-images` removes them)")
    cleanup.clean()
    out = subprocess.run(["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}"], capture_output=True,
                         text=True, check=True)
    new = set(out.stdout.split()) - images_before
    assert sorted(new - what_make_image_makes(pin)) == []
    assert cleanup.leftovers() == [] and cleanup.test_containers() == []
