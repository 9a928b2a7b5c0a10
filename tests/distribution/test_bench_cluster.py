"""The bench's edit-to-cluster measurement against a real registry on loopback: a node holding the previous image
pulls only the layers the edit changed, and the figures add up (two tiny images sharing their first layer)."""

from __future__ import annotations

import os
import subprocess

import fixture_images
import pytest

from rocm_images.host import bench, cleanup, local_registry

pytestmark = pytest.mark.engine


BASE = os.urandom(300_000)  # incompressible, the same bytes in both images: one shared, by far the largest layer


def _image(ctx, ref: str, edit: str) -> str:
    ctx.mkdir()
    (ctx / "base").write_bytes(BASE)
    (ctx / "edit").write_text(edit)
    (ctx / "Dockerfile").write_text("FROM scratch\nCOPY base /base\nCOPY edit /edit\n")
    return fixture_images.build(ctx, ref)


def test_a_node_pulls_only_the_changed_layer(tmp_path):
    previous = _image(tmp_path / "a", f"{cleanup.TEST_PREFIX}-bench/vllm:previous", "v1\n")
    edited = _image(tmp_path / "b", f"{cleanup.TEST_PREFIX}-bench/vllm:edited", "v2, a patch edit\n")
    try:
        (tmp_path / "registry").mkdir()
        with local_registry.serve(tmp_path / "registry") as registry:
            c = bench.to_cluster(registry, "overlay", previous, edited, build_seconds=1.5)
            everything = bench.image_blobs(registry, "bench/overlay", "edited")
            assert (tmp_path / "registry" / "data").is_dir()
        assert not (tmp_path / "registry" / "data").exists(), "the throwaway registry left its blobs behind"
    finally:
        subprocess.run(["docker", "image", "rm", previous, edited], capture_output=True)
    shared = max(everything.values())
    assert shared > 300_000
    assert c["build_seconds"] == 1.5 and c["push_seconds"] > 0 and c["node_pull_seconds"] >= 0
    assert c["node_pull_blobs"] == 2  # the edit layer and the image config; the base layer is already held
    assert c["node_pull_bytes"] == c["changed_layer_bytes"] == sum(everything.values()) - shared
