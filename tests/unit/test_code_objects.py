"""The code-object listing of a HIP shared object (clang offload bundles), on fixtures written in the bundle
format clang-offload-bundler documents, and build-info's arch check on top of it."""

from __future__ import annotations

import struct

import pytest

from rocm_images import UserError
from rocm_images.image import code_objects
from rocm_images.stages import build_info


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


def test_a_module_that_calls_itself_a_stand_in_still_needs_every_arch():
    """No skip for the sandbox: its module carries real code objects, so a CPU-only one fails like any other."""
    data = shared_object() + b"sandbox stand-in: CPU build of aiter's module_mhc"
    found, error = build_info.code_object_archs(data, "gfx942;gfx950")
    assert found == [] and "code objects for no arch but GPU_ARCHS needs gfx942, gfx950" in error


@pytest.mark.parametrize("tail,why", [
    (b"", "truncated"),                                                    # the magic at the very end
    (struct.pack("<Q", 1) + struct.pack("<QQ", 0, 4), "truncated"),        # an entry cut inside its header
    (struct.pack("<Q", 10**9), "1000000000 entries"),                      # a count no bundle has
    (struct.pack("<Q", 1) + struct.pack("<QQQ", 0, 4, 2**40), "an entry id of 1099511627776 bytes"),
    (struct.pack("<Q", 1) + struct.pack("<QQQ", 0, 4, 4) + b"\xff\xfe\x00\x01", "an entry id that is not ASCII"),
], ids=["magic-at-end", "entry-cut", "huge-count", "huge-id", "non-ascii-id"])
def test_a_malformed_bundle_header_is_one_line_naming_file_and_offset(tail, why):
    data = shared_object(bundle(HOST, MI300)) + b"junk" + code_objects.MAGIC + tail
    offset = data.rfind(code_objects.MAGIC)
    with pytest.raises(UserError) as err:
        code_objects.archs(data, "/x/aiter/jit/module_mhc.so")
    assert str(err.value) == (f"/x/aiter/jit/module_mhc.so: malformed offload bundle header at byte {offset} ({why}); "
                              "the file is damaged or not a HIP build, rebuild it")
    _, error = build_info.code_object_archs(data, "gfx942", "/x/aiter/jit/module_mhc.so")
    assert error == str(err.value)  # the build check reports the same line, no traceback


def ccob(payload: bytes, version: int = 2) -> bytes:
    """A compressed bundle header as clang writes it (magic, version, method zstd, sizes, hash) and a payload."""
    if version == 2:
        return b"CCOB" + struct.pack("<HHIIQ", 2, 2, 24 + len(payload), 1234, 0) + payload
    return b"CCOB" + struct.pack("<HHQQQ", 3, 2, 32 + len(payload), 1234, 0) + payload


@pytest.fixture
def fake_bundler(tmp_path, monkeypatch):
    """A stand-in for ROCm's clang-offload-bundler (none on this machine): it lists the ids written in the
    payload after a "IDS:" marker, for an input that starts with the CCOB magic, and records the input's size."""
    tool = tmp_path / "clang-offload-bundler"
    tool.write_text("#!/bin/sh\nin=${3#--input=}\n[ \"$1 $2\" = '--list --type=o' ] || exit 9\n"
                    "head -c 4 \"$in\" | grep -q CCOB || { echo 'not a bundle' >&2; exit 1; }\n"
                    f"wc -c < \"$in\" >> {tmp_path}/sizes\n"
                    "tr '\\000' '\\n' < \"$in\" | sed -n 's/^IDS://p' | tr ',' '\\n'\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    return tmp_path / "sizes"


@pytest.mark.parametrize("version", [2, 3])
def test_compressed_bundles_are_listed_with_clang_offload_bundler(fake_bundler, version):
    blob = ccob(b"\0IDS:" + f"{HOST},{MI350}".encode() + b"\0", version)
    data = shared_object(bundle(HOST, MI300)) + blob + b"\0" * 64  # trailing bytes are not the bundle's
    assert code_objects.archs(data) == {"gfx942", "gfx950"}
    assert fake_bundler.read_text().split() == [str(len(blob))]  # exactly the bundle, by its recorded size


def test_a_compressed_bundle_the_bundler_rejects_is_one_line(fake_bundler, tmp_path):
    data = shared_object() + ccob(b"\0IDS:" + MI300.encode())
    (tmp_path / "clang-offload-bundler").write_text("#!/bin/sh\necho 'error: decompression failed' >&2\nexit 1\n")
    with pytest.raises(UserError) as err:
        code_objects.archs(data)
    assert str(err.value) == (f"module_mhc.so: clang-offload-bundler cannot list the compressed bundle at byte "
                              f"{data.find(b'CCOB')} (error: decompression failed)")


def test_a_stray_ccob_string_is_not_a_bundle():
    data = shared_object(bundle(HOST, MI300)) + b"CCOB is also a word"
    assert code_objects.archs(data) == {"gfx942"}
