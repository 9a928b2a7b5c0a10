"""The bench's edit-to-cluster arithmetic on synthetic manifests: changed layers counted once, shared not at all."""

from __future__ import annotations

import pytest

from rocm_images.host import bench


class _Resp:
    def __init__(self, body: dict) -> None:
        self.body = body

    def json(self) -> dict:
        return self.body


def _manifest(config: tuple[str, int], layers: list[tuple[str, int]]) -> dict:
    return {"config": {"digest": config[0], "size": config[1]},
            "layers": [{"digest": d, "size": n} for d, n in layers]}


@pytest.fixture
def registry(monkeypatch):
    """previous: config c1, layers base+deps; edited: config c2, base+deps shared, one new overlay layer listed
    twice (an identical layer may appear more than once in a manifest), behind an index with an attestation."""
    manifests = {
        "previous": _manifest(("sha256:c1", 3), [("sha256:base", 1000), ("sha256:deps", 500)]),
        "edited": {"manifests": [{"digest": "sha256:att", "annotations": {
            "vnd.docker.reference.type": "attestation-manifest"}}, {"digest": "sha256:img"}]},
        "sha256:img": _manifest(("sha256:c2", 4), [("sha256:base", 1000), ("sha256:deps", 500),
                                                    ("sha256:overlay", 7), ("sha256:overlay", 7)]),
    }
    monkeypatch.setattr(bench, "_get", lambda url, **_: _Resp(manifests[url.rsplit("/", 1)[1]]))
    return "reg:5000"


def test_changed_layers_count_once_and_shared_ones_not_at_all(registry):
    previous = bench.image_blobs(registry, "bench/overlay", "previous")
    edited = bench.image_blobs(registry, "bench/overlay", "edited")
    assert edited == {"sha256:c2": 4, "sha256:base": 1000, "sha256:deps": 500, "sha256:overlay": 7}
    assert bench.changed_bytes(previous, edited) == 4 + 7


def test_nothing_changed_is_zero_and_everything_new_is_the_whole_image():
    blobs = {"sha256:a": 10, "sha256:b": 20}
    assert bench.changed_bytes(blobs, blobs) == 0
    assert bench.changed_bytes({}, blobs) == 30


def test_cluster_ratios():
    cluster = {"overlay": {"node_pull_bytes": 50, "build_seconds": 3.0, "push_seconds": 1.0},
               "full": {"node_pull_bytes": 5000, "build_seconds": 20.0, "push_seconds": 12.0}}
    assert bench.cluster_ratios(cluster) == {"node_pull_bytes_ratio": 0.01, "edit_to_pushed_speedup": 8.0}


def test_compression_ratios_are_gzip_over_zstd_and_bytes_zstd_over_gzip():
    cold = {"gzip": {"cold_pull_seconds": 30.0, "export_compress_seconds": 90.0, "registry_bytes": 1000},
            "zstd": {"cold_pull_seconds": 10.0, "export_compress_seconds": 9.0, "registry_bytes": 850}}
    assert bench.compression_ratios(cold) == {"cold_pull_speedup_zstd": 3.0, "push_compress_speedup_zstd": 10.0,
                                              "registry_bytes_ratio_zstd": 0.85}
    assert {"cold_pull_speedup_zstd", "push_compress_speedup_zstd", "registry_bytes_ratio_zstd"} <= set(bench.GOALS)
