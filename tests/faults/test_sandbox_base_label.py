"""The sandbox base is reused only while it carries the stand-in label under the name bake.hcl gives it: every
sandbox image inherits the base's labels, so a base made before a rename would leave the old name on them."""

from __future__ import annotations

import subprocess

import pytest

from rocm_images.host import cleanup, sandbox_base

pytestmark = pytest.mark.engine


def _image(tmp_path, ref: str, labels: dict[str, str]) -> str:
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY Dockerfile /x\n")
    args = [a for k, v in labels.items() for a in ("--label", f"{k}={v}")]
    subprocess.run(["docker", "buildx", "build", "--load", "-q", "--provenance=false", "-t", ref, *args,
                    str(tmp_path)], check=True, capture_output=True)
    return ref


def test_a_base_labelled_under_another_name_is_not_reused(tmp_path, label):
    ours = {cleanup.project_label(): "test-fixture"}
    current = _image(tmp_path, f"{cleanup.TEST_PREFIX}/sandbox-base:current",
                     {**ours, label["sandbox"]: sandbox_base.STANDIN_LABEL})
    renamed = _image(tmp_path, f"{cleanup.TEST_PREFIX}/sandbox-base:renamed",
                     {**ours, f"{label['sandbox']}-old": sandbox_base.STANDIN_LABEL})
    try:
        assert sandbox_base.labelled(current)
        assert not sandbox_base.labelled(renamed)
        assert not sandbox_base.labelled(f"{cleanup.TEST_PREFIX}/sandbox-base:absent")
    finally:
        subprocess.run(["docker", "image", "rm", "-f", current, renamed], capture_output=True)
