"""COMPRESSION's checks without an engine: the choice, the bake output it becomes, the media types a push is
judged by, and the line a refused zstd push prints."""

from __future__ import annotations

import json

import pytest

from rocm_images import UserError
from rocm_images.host import compression, graph, transaction

GZIP, ZSTD = compression.LAYER_MEDIA_TYPE["gzip"], compression.LAYER_MEDIA_TYPE["zstd"]


@pytest.mark.parametrize("value", ["lz4", "ZSTD", "estargz", ""])
def test_an_unknown_compression_is_one_line_before_anything_builds(value, monkeypatch):
    monkeypatch.setattr(transaction.engine, "require", lambda: pytest.fail("reached the engine"))
    with pytest.raises(UserError, match=r"is not one of gzip, zstd; use COMPRESSION=gzip \(default") as err:
        transaction.build("sandbox", ["vllm"], layer_compression=value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("packed,level", [("gzip", "6"), ("zstd", "3")])
def test_bake_outputs_every_published_image_with_the_compression_and_labels_it(packed, level, label):
    env = dict(graph.environment("production", "latest", prepare=False), COMPRESSION=packed)
    targets = json.loads(graph.print_graph("production", ["all"], env))["target"]
    for name in ("rocm_base", "vllm", "vllm-openai", "test-unpatched", "test-no-module-mhc", "test-old-aiter"):
        (out,) = targets[name]["output"]
        attrs = compression.output_attributes(out)
        assert attrs == {"type": "image", "compression": packed, "compression-level": level,
                         "force-compression": "true", "oci-mediatypes": "true"}, (name, out)
        assert targets[name]["labels"][label["compression"]] == packed
        assert json.loads(targets[name]["args"]["BUILD_INFO"])["labels"][label["compression"]] == packed
    assert "output" not in targets["rocm_base-core"]  # intermediates are contexts, never exported


def test_pushed_layers_must_have_the_images_media_type():
    compression.check_pushed("r/vllm:1", "zstd", [ZSTD, ZSTD])
    compression.check_pushed("r/vllm:1", "gzip", [GZIP])
    with pytest.raises(UserError, match=r"holds layers as .*tar\+gzip, not .*tar\+zstd \(COMPRESSION=zstd\)"):
        compression.check_pushed("r/vllm:1", "zstd", [ZSTD, GZIP])
    with pytest.raises(UserError, match=r"holds layers as nothing"):
        compression.check_pushed("r/vllm:1", "gzip", [])


def test_media_types_are_read_past_the_attestation_manifest():
    index = {"manifests": [{"digest": "sha256:att", "annotations": {"vnd.docker.reference.type":
                                                                  "attestation-manifest"}},
                           {"digest": "sha256:img"}]}
    blobs = {"sha256:img": {"layers": [{"mediaType": ZSTD}, {"mediaType": ZSTD}]},
             "sha256:att": {"layers": [{"mediaType": "application/vnd.in-toto+json"}]}}
    assert compression.layer_media_types(index, blobs.__getitem__) == [ZSTD, ZSTD]


@pytest.mark.parametrize("tail", ["manifest invalid: manifest invalid",
                                  'failed commit on ref "manifest-sha256:ab": unexpected status from PUT request to '
                                  "http://r/v2/x/manifests/1: 400 Bad Request",
                                  "unexpected status from PUT request to http://r/v2/x/manifests/1: 415 Unsupported "
                                  "Media Type"])
def test_a_refused_zstd_push_names_the_gzip_fallback(tail):
    msg = str(compression.push_failure("r/x:1", "zstd", tail))
    assert "COMPRESSION=gzip" in msg and tail in msg and "\n" not in msg
    assert "COMPRESSION=gzip" not in str(compression.push_failure("r/x:1", "gzip", tail))
    assert "COMPRESSION" not in str(compression.push_failure("r/x:1", "zstd", "denied: requested access"))


def test_zstd_on_a_classic_store_engine_stops_before_anything_builds(monkeypatch):
    """A classic-store engine keeps no blobs: its push would send gzip under a zstd label."""
    real = transaction.engine.subprocess.run

    def classic_info(cmd, *args, **kwargs):
        if cmd[:2] == ["docker", "info"]:
            return transaction.engine.subprocess.CompletedProcess(cmd, 0, '[["Backing Filesystem","extfs"]]', "")
        return real(cmd, *args, **kwargs)

    monkeypatch.setattr(transaction.engine, "require", lambda: None)
    monkeypatch.setattr(transaction.engine.subprocess, "run", classic_info)
    monkeypatch.setattr(transaction, "check_disk", lambda: pytest.fail("got past the image-store check"))
    with pytest.raises(UserError, match=r"classic image store; COMPRESSION=zstd keeps its layers as built only in "
                                        r"the containerd image store"):
        transaction.build("production", ["vllm"], layer_compression="zstd")


def test_sandbox_images_are_gzip_at_the_fastest_level():
    """bake.sandbox.hcl's GZIP_LEVEL: the same gzip media types as production at level 1 (never pushed); zstd keeps
    its level."""
    for packed, level in (("gzip", "1"), ("zstd", "3")):
        env = dict(graph.environment("sandbox", "latest", prepare=False), COMPRESSION=packed)
        targets = json.loads(graph.print_graph("sandbox", ["default"], env))["target"]
        for name in ("rocm_base", "vllm", "vllm-openai"):
            (out,) = targets[name]["output"]
            attrs = compression.output_attributes(out)
            assert (attrs["compression"], attrs["compression-level"], attrs["force-compression"]) == \
                (packed, level, "true"), (name, out)


def test_the_bench_compresses_gzip_as_production_pushes_it():
    from rocm_images.host import bench

    assert bench.production_gzip_level() == "6"


def test_a_stray_gzip_level_in_the_shell_does_not_reach_bake(monkeypatch):
    monkeypatch.setenv("GZIP_LEVEL", "9")
    env = graph.environment("production", "latest", prepare=False)
    assert "GZIP_LEVEL" not in env
    (out,) = json.loads(graph.print_graph("production", ["vllm"], env))["target"]["vllm"]["output"]
    assert compression.output_attributes(out)["compression-level"] == "6"
