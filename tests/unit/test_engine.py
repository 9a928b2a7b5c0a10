"""Engine bootstrap: a suitable engine answers, and a second run changes nothing."""

import subprocess
import sys

import pytest

from rocm_images import REPO_ROOT, UserError
from rocm_images.host import engine

pytestmark = pytest.mark.engine


def test_engine_is_suitable_and_bootstrap_is_idempotent():
    assert engine.status() == ""
    before = engine.server_version(), engine.buildx_version()
    out = subprocess.run([sys.executable, "-m", "rocm_images", "engine"], cwd=REPO_ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert "nothing changed" in out
    assert (engine.server_version(), engine.buildx_version()) == before
    assert before[0] >= engine.MIN_ENGINE and before[1] >= engine.MIN_BUILDX


def test_mirror_comes_from_the_machines_apt_sources():
    assert engine.mirror_uri().startswith(("http://", "https://"))


def test_mirror_with_apt_sources_hidden_is_one_line_or_the_override(monkeypatch, tmp_path):
    """A machine whose apt names no mirror (the network default): one line naming MIRROR_URI, the local override."""
    monkeypatch.delenv("MIRROR_URI", raising=False)
    with pytest.raises(UserError) as err:
        engine.mirror_uri(tmp_path)
    assert "\n" not in str(err.value) and str(err.value).endswith("set MIRROR_URI=<a Debian mirror URL> and retry")
    deb822 = tmp_path / "sources.list.d"
    deb822.mkdir()
    (deb822 / "m.sources").write_text(f"Types: deb\nURIs: http://127.0.0.1:9/debian/\nSuites: {engine._os_codename()}\n"
                                      "Components: main\n")
    assert engine.mirror_uri(tmp_path) == "http://127.0.0.1:9/debian"
    monkeypatch.setenv("MIRROR_URI", "file:///srv/mirror/")
    assert engine.mirror_uri(tmp_path) == "file:///srv/mirror"


def test_production_preflight_wants_the_containerd_image_store():
    engine.require_image_store('[["driver-type","io.containerd.snapshotter.v1"]]')
    for classic in ('[["Backing Filesystem","extfs"],["Supports d_type","true"]]', "", "null"):
        with pytest.raises(engine.UserError, match=r"classic image store; .*containerd-snapshotter"):
            engine.require_image_store(classic)


def test_this_engine_has_the_containerd_image_store():
    engine.require_image_store()  # the engine `make engine` installs


def test_make_engine_on_ubuntu_says_how_to_get_an_engine(tmp_path):
    """An Ubuntu AMD host must not get Debian trixie's suite pointed at Ubuntu's archive: one line instead."""
    ubuntu = tmp_path / "os-release"
    ubuntu.write_text('NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\nVERSION_CODENAME=jammy\n')
    with pytest.raises(UserError, match=r"this host runs ubuntu; install Docker Engine >= 25\.0 with buildx >= 0\.13"):
        engine.require_debian(ubuntu)
    debian = tmp_path / "debian"
    debian.write_text('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_CODENAME=bookworm\n')
    engine.require_debian(debian)
