"""The sandbox base is reused only while it carries the stand-in label under the name bake.hcl gives it: every
sandbox image inherits the base's labels, so a base made before a rename would leave the old name on them."""

from __future__ import annotations

import subprocess

import fixture_images
import pytest

from rocm_images.host import cleanup, sandbox_base

pytestmark = pytest.mark.engine


def test_a_base_labelled_under_another_name_is_not_reused(tmp_path, label):
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY Dockerfile /x\n")
    current = fixture_images.build(tmp_path, f"{cleanup.TEST_PREFIX}/sandbox-base:current",
                                   {label["sandbox"]: sandbox_base.STANDIN_LABEL})
    renamed = fixture_images.build(tmp_path, f"{cleanup.TEST_PREFIX}/sandbox-base:renamed",
                                   {f"{label['sandbox']}-old": sandbox_base.STANDIN_LABEL})
    try:
        assert sandbox_base.labelled(current)
        assert not sandbox_base.labelled(renamed)
        assert not sandbox_base.labelled(f"{cleanup.TEST_PREFIX}/sandbox-base:absent")
    finally:
        subprocess.run(["docker", "image", "rm", "-f", current, renamed], capture_output=True)
