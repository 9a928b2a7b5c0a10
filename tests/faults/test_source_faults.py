"""Source faults: a vLLM sdist whose checksum does not match leaves nothing in the cache; one whose members
would leave the source directory is refused whole."""

from __future__ import annotations

import io
import tarfile

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


def _tarball(path, member: tarfile.TarInfo, data: bytes = b"") -> None:
    """An sdist-shaped tarball (one top-level directory with a file) plus one crafted member."""
    with tarfile.open(path, "w:gz") as tf:
        ok = tarfile.TarInfo("vllm-9.9.9/PKG-INFO")
        ok.size = 3
        tf.addfile(ok, io.BytesIO(b"ok\n"))
        tf.addfile(member, io.BytesIO(data) if data else None)


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "", data: bytes = b"") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, link, len(data)
    return info



LEAVES = "refused to unpack, member "


@pytest.mark.parametrize("member,data,refusal", [
    (_member("vllm-9.9.9/../../escaped.txt", data=b"pwned\n"), b"pwned\n", LEAVES),
    # the filter moves an absolute member inside the target: a second top-level entry, not an sdist
    ("ABSOLUTE", b"pwned\n", "not an sdist"),
    (_member("vllm-9.9.9/link", tarfile.SYMTYPE, "../../outside"), b"", LEAVES),
    (_member("vllm-9.9.9/abs-link", tarfile.SYMTYPE, "/etc/passwd"), b"", LEAVES),
    (_member("vllm-9.9.9/hard", tarfile.LNKTYPE, "../../outside"), b"", LEAVES),
], ids=["dotdot", "absolute", "symlink-out", "symlink-absolute", "hardlink-out"])
def test_unpinned_sdist_that_leaves_its_directory_is_refused(tmp_path, member, data, refusal):
    """make patch-check VLLM_REF=<other> trusts only the index's checksum: a crafted member never lands."""
    if member == "ABSOLUTE":  # an absolute path under tmp_path, so a missing guard writes nowhere else
        member = _member(str(tmp_path / "absolute-escape.txt"), data=data)
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    bad = work / "vllm-9.9.9.tar.gz"
    _tarball(bad, member, data)
    dest = work / "src" / "vllm-9.9.9"
    with pytest.raises(UserError) as err:
        sdist.unpack(bad, dest)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"vllm-9.9.9.tar.gz: {refusal}")
    assert not dest.exists() and not dest.with_name(dest.name + ".tmp").exists()  # nothing half-unpacked
    escaped = [p for p in tmp_path.rglob("*") if p.name in ("escaped.txt", "absolute-escape.txt", "link", "abs-link",
                                                          "hard")]
    assert escaped == []


def test_well_formed_sdist_unpacks(tmp_path):
    good = tmp_path / "vllm-9.9.9.tar.gz"
    _tarball(good, _member("vllm-9.9.9/setup.py", data=b"# setup\n"), b"# setup\n")
    root = sdist.unpack(good, tmp_path / "src" / "vllm-9.9.9")
    assert (root / "setup.py").read_text() == "# setup\n" and (root / "PKG-INFO").is_file()
