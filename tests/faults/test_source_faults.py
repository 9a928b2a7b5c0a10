"""Source faults: a vLLM sdist whose checksum does not match leaves nothing in the cache."""

from __future__ import annotations

import pytest

from rocm_images import UserError
from rocm_images.host import sdist


def test_checksum_mismatch_discards_the_download(monkeypatch, tmp_path, pin):
    monkeypatch.setattr(sdist, "CACHE_DIR", tmp_path)
    with pytest.raises(UserError) as err:
        sdist.fetch(pin["VLLM_VERSION"], "0" * 64)
    msg = str(err.value)
    assert "\n" not in msg and "!= VLLM_SDIST_SHA256 " + "0" * 64 in msg and "download was discarded" in msg
    assert list(tmp_path.iterdir()) == []  # no tarball, no .part


def test_version_not_on_the_index(monkeypatch, tmp_path):
    monkeypatch.setattr(sdist, "CACHE_DIR", tmp_path)
    with pytest.raises(UserError, match=r"vllm-0.0.0.tar.gz is not on the package index"):
        sdist.fetch("0.0.0", "0" * 64)
    assert list(tmp_path.iterdir()) == []
