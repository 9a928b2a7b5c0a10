"""Runs last (pyproject testpaths): the suite removes what it made, and the engine keeps only what `make image`
makes and what was there before. KEEP_TEST_IMAGES=1 skips the removal (to debug a failure)."""

from __future__ import annotations

import os
import subprocess

import pytest

from rocm_images.host import cleanup

MAKE_IMAGE_MAKES = ("rocm-vllm/rocm_base:", "rocm-vllm/vllm:", "rocm-vllm/vllm-openai:", "rocm-images/sandbox-base:")


def test_leftovers_are_found_by_label_not_by_name(tmp_path):
    """A labelled test image is found (and removed); an unlabelled image under the same name is not ours."""
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY Dockerfile /x\n")
    ours, theirs = f"{cleanup.TEST_PREFIX}/probe:label", f"{cleanup.TEST_PREFIX}/probe:nolabel"
    for ref, label in ((ours, [f"--label={cleanup.PROJECT_LABEL}=test-fixture"]), (theirs, [])):
        subprocess.run(["docker", "buildx", "build", "--load", "-q", "--provenance=false", "-t", ref, *label,
                        str(tmp_path)], check=True, capture_output=True)
    try:
        assert ours in cleanup.leftovers() and theirs not in cleanup.leftovers()
        assert ours in cleanup.clean()
        assert ours not in cleanup.leftovers()
    finally:
        subprocess.run(["docker", "image", "rm", "-f", ours, theirs], capture_output=True)


def test_make_test_leaves_only_what_make_image_makes(images_before):
    if os.environ.get("KEEP_TEST_IMAGES") == "1":
        pytest.skip("KEEP_TEST_IMAGES=1: the suite's images are kept for debugging (`make clean-images` removes them)")
    cleanup.clean()
    out = subprocess.run(["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}"], capture_output=True,
                         text=True, check=True)
    new = set(out.stdout.split()) - images_before
    assert [ref for ref in sorted(new) if not ref.startswith(MAKE_IMAGE_MAKES)] == []
    assert cleanup.leftovers() == [] and cleanup.test_containers() == []
