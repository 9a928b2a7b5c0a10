"""COMPRESSION=zstd end to end: the sandbox vllm image built with zstd layers travels to a loopback registry as
OCI zstd layers and runs its probe on a cold node (a second dockerd with an empty store); `make push` reads the
media types back, refuses an image whose layers contradict its label, and names COMPRESSION=gzip when a registry
refuses zstd."""

from __future__ import annotations

import json
import subprocess
import uuid

import fixture_images
import pytest
import rejecting_registry
import requests

from rocm_images import UserError
from rocm_images.host import cleanup, cold_node, compression, graph, local_registry, manifest, push

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    with local_registry.serve(tmp_path_factory.mktemp("registry")) as addr:
        yield addr


def _registry_layers(registry: str, repo: str, tag: str) -> list[str]:
    """The layer media types the registry serves for repo:tag, read over HTTP (not through the code under test)."""
    def fetch(ref: str) -> dict:
        resp = requests.get(f"http://{registry}/v2/{repo}/manifests/{ref}",
                            headers={"Accept": manifest.MANIFEST_TYPES}, timeout=30)
        resp.raise_for_status()
        return resp.json()

    return [layer["mediaType"] for layer in manifest.image_manifest(fetch(tag), fetch)["layers"]]


def test_a_zstd_sandbox_image_pushes_zstd_layers_and_runs_from_a_clean_store(registry, label, tmp_path_factory):
    from rocm_images.host import transaction

    (ref,) = transaction.build("sandbox", ["vllm"], tag="zstd", layer_compression="zstd")["vllm"]
    info = json.loads(subprocess.run(["docker", "run", "--rm", "--entrypoint", "cat", ref,
                                      "/etc/rocm-images/build-info.json"], capture_output=True, text=True,
                                     check=True).stdout)
    assert info["labels"][label["compression"]] == "zstd"
    # a sandbox image never goes through `make push`; this pushes it by hand to test the layers' journey only
    dest = f"{registry}/zstd/vllm:probe"
    subprocess.run(["docker", "tag", ref, dest], check=True)
    try:
        pushed = subprocess.run(["docker", "push", dest], capture_output=True, text=True)
    finally:
        subprocess.run(["docker", "image", "rm", dest], capture_output=True)
    assert pushed.returncode == 0, pushed.stderr
    layers = _registry_layers(registry, "zstd/vllm", "probe")
    assert layers and set(layers) == {compression.LAYER_MEDIA_TYPE["zstd"]}, layers
    with cold_node.serve(tmp_path_factory.mktemp("cold")) as node:
        held = cold_node.docker(node, "image", "ls", "-q").stdout.split()
        assert held == [], "the cold node's store is not empty"
        cold_node.docker(node, "pull", dest)
        out = cold_node.docker(node, "run", "--rm", "--network", "none", dest, "mhc-probe", "--run").stdout
    p = json.loads(out)
    assert p["sandbox"] and p["aiter"]["module_mhc"] is not None
    assert p["run"]["ok"], p["run"]
    assert p["tilelang"]["compile_requests"] == 0


def _tiny(tmp_path, name: str, labels: dict[str, str], packed: str) -> str:
    (tmp_path / "marker").write_text(uuid.uuid4().hex)
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY marker /marker\n")
    return fixture_images.build(tmp_path, f"{cleanup.TEST_PREFIX}-push/{name}:{packed}", labels,
                                provenance="mode=max", compression=packed)


@pytest.fixture
def production_labels(label) -> dict[str, str]:
    return {**graph.records("production", ["vllm"])["vllm"].labels, "rocm-images.test-fixture": "push mechanics only"}


def _tags(registry: str, repo: str) -> list[str]:
    resp = requests.get(f"http://{registry}/v2/{repo}/tags/list", timeout=10)
    return [] if resp.status_code == 404 else sorted(resp.json()["tags"] or [])


def test_make_push_reads_zstd_media_types_back(registry, production_labels, label, tmp_path):
    ref = _tiny(tmp_path, "vllm", {**production_labels, label["compression"]: "zstd"}, "zstd")
    (line,) = push.push_images([ref], f"{registry}/zstdok", layer_compression="zstd")
    assert line.startswith(f"{registry}/zstdok/vllm@sha256:")
    assert set(_registry_layers(registry, "zstdok/vllm", push.derived_tags(production_labels)[-1])) == {
        compression.LAYER_MEDIA_TYPE["zstd"]}


def test_layers_that_contradict_the_label_stop_the_push_before_the_moving_tag(registry, production_labels, label,
                                                                             tmp_path):
    """An image labelled zstd whose layers are gzip (what a classic-store engine makes of COMPRESSION=zstd): the
    media types read back after the first tag stop the push; the moving tag is never pushed."""
    ref = _tiny(tmp_path, "vllm", {**production_labels, label["compression"]: "zstd"}, "gzip")
    with pytest.raises(UserError, match=r"holds layers as application/vnd\.oci\.image\.layer\.v1\.tar\+gzip, not "
                                        r".*tar\+zstd \(COMPRESSION=zstd\); rebuild with `make image "
                                        r"COMPRESSION=zstd`"):
        push.push_images([ref], f"{registry}/liar")
    assert push.derived_tags(production_labels)[-1] not in _tags(registry, "liar/vllm")


def test_push_refuses_a_compression_other_than_the_images(registry, production_labels, label, tmp_path):
    ref = _tiny(tmp_path, "vllm", {**production_labels, label["compression"]: "gzip"}, "gzip")
    with pytest.raises(UserError, match=r"was built with COMPRESSION=gzip; rebuild it with `make image "
                                        r"COMPRESSION=zstd` or push it with COMPRESSION=gzip"):
        push.push_images([ref], f"{registry}/mismatch", layer_compression="zstd")
    assert _tags(registry, "mismatch/vllm") == []  # refused before anything moved


def test_a_registry_that_refuses_zstd_names_the_gzip_fallback(registry, production_labels, label, tmp_path):
    (tmp_path / "z").mkdir()
    (tmp_path / "g").mkdir()
    zstd_ref = _tiny(tmp_path / "z", "vllm", {**production_labels, label["compression"]: "zstd"}, "zstd")
    gzip_ref = _tiny(tmp_path / "g", "vllm", {**production_labels, label["compression"]: "gzip"}, "gzip")
    with rejecting_registry.serve(registry) as picky:
        with pytest.raises(UserError) as err:
            push.push_images([zstd_ref], f"{picky}/picky", layer_compression="zstd")
        msg = str(err.value)
        assert "\n" not in msg and "/manifests/" in msg  # docker's own line: the manifest PUT was refused
        assert msg.endswith("the registry does not take zstd layers: rebuild and push with COMPRESSION=gzip "
                            "(`make image COMPRESSION=gzip` then `make push COMPRESSION=gzip`)"), msg
        # docker pushes each manifest of the index under the tag, so the attestation's may land on the immutable
        # tag; the moving tag is never reached
        assert push.derived_tags(production_labels)[-1] not in _tags(registry, "picky/vllm")
        (line,) = push.push_images([gzip_ref], f"{picky}/picky", layer_compression="gzip")  # gzip goes through
    assert line.startswith(f"{picky}/picky/vllm@sha256:")
    assert set(_registry_layers(registry, "picky/vllm", push.derived_tags(production_labels)[-1])) == {
        compression.LAYER_MEDIA_TYPE["gzip"]}
