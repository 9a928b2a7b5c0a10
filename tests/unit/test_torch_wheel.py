"""Where the sandbox's torch comes from: pip's find-links first, else a PEP 503 index (downloaded once into the
cache, checked against the index's sha256); neither is one line naming what to set. Real HTTP on loopback."""

from __future__ import annotations

import platform

import pep503_index
import pytest

from rocm_images import UserError
from rocm_images.host import sdist, torch_wheel

ARCH = platform.machine()


@pytest.fixture
def wheel(tmp_path, pin):
    """A file named like the wheel the sandbox wants (its bytes are not a wheel: nothing here installs it)."""
    d = tmp_path / "wheels"
    d.mkdir()
    f = d / f"torch-{pin['SANDBOX_TORCH_VERSION']}+cpu-cp311-cp311-manylinux_2_28_{ARCH}.whl"
    f.write_bytes(b"not really a wheel\n")
    return f


@pytest.fixture
def newcomer(monkeypatch, tmp_path):
    """No find-links directory, an empty download cache."""
    monkeypatch.setattr(torch_wheel, "find_links_dirs", lambda: [])
    monkeypatch.setattr(sdist, "CACHE_DIR", tmp_path / "cache")


@pytest.mark.parametrize("name,ok", [
    ("torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_{arch}.whl", True),
    ("torch-2.13.0-cp311-cp311-manylinux_2_28_{arch}.whl", True),
    ("torch-2.13.0-cp311-cp311-linux_{arch}.whl", True),
    ("torch-2.13.1+cpu-cp311-cp311-manylinux_2_28_{arch}.whl", False),
    ("torch-2.13.0+cpu-cp312-cp312-manylinux_2_28_{arch}.whl", False),
    ("torch-2.13.0+cpu-cp311-cp311-win_amd64.whl", False),
    ("torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_other.whl", False),
    ("torchvision-2.13.0-cp311-cp311-manylinux_2_28_{arch}.whl", False),
    ("torch-2.13.0.tar.gz", False),
])
def test_which_wheel_fits(name, ok):
    assert torch_wheel.fits(name.format(arch=ARCH), "2.13.0", "3.11") is ok


def test_find_links_first(monkeypatch, wheel, pin):
    monkeypatch.setattr(torch_wheel, "find_links_dirs", lambda: [wheel.parent])
    got = torch_wheel.resolve(pin)
    assert (got.file, got.sha256, got.source) == (str(wheel), sdist.sha256_of(wheel), f"pip find-links {wheel.parent}")


def test_index_download_is_cached_and_checked(newcomer, monkeypatch, tmp_path, wheel, pin):
    with pep503_index.serve(tmp_path / "idx", "torch", [wheel]) as (url, requested):
        monkeypatch.setenv("SANDBOX_TORCH_INDEX", url)
        got = torch_wheel.resolve(pin)
    assert requested == ["/simple/torch/", "/simple/torch/" + wheel.name.replace("+", "%2B")]
    assert got.source == f"index {url}" and got.sha256 == sdist.sha256_of(wheel)
    assert got.file == str(sdist.CACHE_DIR / "torch" / wheel.name)
    # the index is gone: the cached download serves, with the source it came from
    again = torch_wheel.resolve(pin)
    assert (again.file, again.sha256, again.source) == (got.file, got.sha256, got.source)


def test_index_with_a_wrong_checksum_leaves_nothing(newcomer, monkeypatch, tmp_path, wheel, pin):
    with pep503_index.serve(tmp_path / "idx", "torch", [wheel], sha256={wheel.name: "0" * 64}) as (url, _):
        monkeypatch.setenv("SANDBOX_TORCH_INDEX", url)
        with pytest.raises(UserError, match="sha256 differs from what the index publishes; download discarded"):
            torch_wheel.resolve(pin)
    assert list((sdist.CACHE_DIR / "torch").iterdir()) == []


def test_index_without_the_version_is_one_line(newcomer, monkeypatch, tmp_path, pin):
    other = tmp_path / f"torch-9.9.9+cpu-cp311-cp311-manylinux_2_28_{ARCH}.whl"
    other.write_bytes(b"x")
    with pep503_index.serve(tmp_path / "idx", "torch", [other]) as (url, _):
        monkeypatch.setenv("SANDBOX_TORCH_INDEX", url)
        with pytest.raises(UserError) as err:
            torch_wheel.resolve(pin)
    msg = str(err.value)
    assert "\n" not in msg and f"or on index {url}; set SANDBOX_TORCH_INDEX=" in msg


def test_the_context_holds_exactly_the_resolved_wheel(monkeypatch, tmp_path, wheel, pin):
    monkeypatch.setattr(torch_wheel, "find_links_dirs", lambda: [wheel.parent])
    monkeypatch.setattr(torch_wheel, "CONTEXT_DIR", tmp_path / "ctx")
    monkeypatch.setattr(torch_wheel, "RECORD", tmp_path / "ctx.json")
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "torch-0.0.1-cp311-cp311-linux_x86_64.whl").write_bytes(b"stale")
    env = torch_wheel.prepare(pin)
    assert [p.name for p in (tmp_path / "ctx").iterdir()] == [wheel.name]
    assert env["SANDBOX_TORCH_SHA256"] == sdist.sha256_of(wheel) == torch_wheel.named()["SANDBOX_TORCH_SHA256"]
    assert env["SANDBOX_TORCH_SOURCE"] == f"pip find-links {wheel.parent}"
