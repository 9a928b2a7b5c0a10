"""The code-object listing of a HIP shared object (clang offload bundles), on fixtures written in the bundle
format clang-offload-bundler documents, and build-info's arch check on top of it."""

from __future__ import annotations

import struct

import pytest

from rocm_images import UserError
from rocm_images.stages import build_info, code_objects


def bundle(*ids: str) -> bytes:
    """One uncompressed offload bundle with these entry ids (payloads are a few filler bytes)."""
    header = code_objects.MAGIC + struct.pack("<Q", len(ids))
    for i in ids:
        header += struct.pack("<QQQ", 0, 4, len(i)) + i.encode()
    return header + b"\0" * 4 * len(ids)


def shared_object(*bundles: bytes) -> bytes:
    return b"\x7fELF" + b"\0" * 60 + b"".join(b".hip_fatbin" + b for b in bundles) + b"\0" * 32


HOST = "host-x86_64-unknown-linux-gnu-"
MI300 = "hipv4-amdgcn-amd-amdhsa--gfx942:sramecc+:xnack-"
MI350 = "hipv4-amdgcn-amd-amdhsa--gfx950"


def test_archs_from_every_bundle_host_entries_skipped():
    data = shared_object(bundle(HOST, MI300), bundle(HOST, MI350, MI300))
    assert code_objects.bundle_ids(data) == [HOST, MI300, HOST, MI350, MI300]
    assert code_objects.archs(data) == {"gfx942", "gfx950"}


def test_missing_arch_is_named():
    data = shared_object(bundle(HOST, MI300))
    assert code_objects.missing(data, ["gfx942", "gfx950"]) == ["gfx950"]


def test_no_bundles_means_no_archs():
    assert code_objects.archs(shared_object()) == set()


def test_compressed_bundles_are_not_read_as_empty():
    with pytest.raises(UserError, match="compressed offload bundles"):
        code_objects.archs(shared_object(b"CCOB\x02\x00\x01\x00" + b"\x28\xb5\x2f\xfd" + b"\0" * 40))


def test_build_info_requires_every_gpu_arch():
    found, error = build_info.code_object_archs(shared_object(bundle(HOST, MI300)), "gfx942;gfx950")
    assert found == ["gfx942"] and "needs gfx950" in error
    found, error = build_info.code_object_archs(shared_object(bundle(HOST, MI300, MI350)), "gfx942;gfx950")
    assert found == ["gfx942", "gfx950"] and error is None


def test_the_stand_in_says_it_has_none(capsys):
    data = shared_object() + build_info.STANDIN_MARK
    assert build_info.code_object_archs(data, "gfx942;gfx950") == ([], None)
    assert "sandbox stand-in, no GPU code objects" in capsys.readouterr().out


def test_the_stand_in_source_carries_the_mark(repo):
    assert build_info.STANDIN_MARK.decode() in (repo / "images/rocm_base/sandbox-aiter/csrc/module_mhc.c").read_text()


def test_mhc_entry_points_resolved_or_named(monkeypatch, tmp_path):
    """The build's `import aiter.ops.mhc` check: a missing entry point or a failed import is one named line."""
    import sys
    import types

    ops, mhc = types.ModuleType("aiter.ops"), types.ModuleType("aiter.ops.mhc")
    mhc.mhc_pre = lambda *a: None
    ops.mhc = mhc
    monkeypatch.setitem(sys.modules, "aiter", types.ModuleType("aiter"))
    monkeypatch.setitem(sys.modules, "aiter.ops", ops)
    monkeypatch.setitem(sys.modules, "aiter.ops.mhc", mhc)
    assert build_info.mhc_entry_points() == "aiter.ops.mhc lacks mhc_post"
    mhc.mhc_post = lambda *a: None
    assert build_info.mhc_entry_points() is None
    monkeypatch.setitem(sys.modules, "aiter.ops", None)  # what a failed `import triton` in aiter leaves
    assert build_info.mhc_entry_points().startswith("`import aiter.ops.mhc` failed: ")
