"""`make refresh-base`: the base tag resolved to its digest through a real registry and written to versions.env;
a registry that cannot be reached is one line and leaves versions.env as it was."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from rocm_images import UserError
from rocm_images.host import cleanup, local_registry, preflight
from rocm_images.stages import pins


def _versions(tmp_path):
    path = tmp_path / "versions.env"
    shutil.copy(pins.VERSIONS_FILE, path)
    return path


def test_refresh_pins_the_digest_the_registry_serves(tmp_path):
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Dockerfile").write_text(f"FROM scratch\nCOPY Dockerfile /base-marker\n"
                                                 f'LABEL {cleanup.project_label()}="test-fixture"\n')
    (tmp_path / "registry").mkdir()
    path = _versions(tmp_path)
    with local_registry.serve(tmp_path / "registry") as registry:
        ref = f"{registry}/rocm/dev-ubuntu-22.04:refresh-test"
        subprocess.run(["docker", "buildx", "build", "-q", "--provenance=false", "--output",
                        f"type=image,name={ref},push=true,registry.insecure=true", str(tmp_path / "ctx")],
                       check=True, capture_output=True)
        try:
            digest = preflight.refresh_base({**pins.load(path), "ROCM_BASE_IMAGE": ref}, path)
            served = subprocess.run(["docker", "buildx", "imagetools", "inspect", f"{ref}@{digest}"],
                                    capture_output=True, text=True)
        finally:  # the push also left the image in the engine's store
            subprocess.run(["docker", "image", "rm", ref], capture_output=True)
    assert preflight.DIGEST.match(digest) and served.returncode == 0, served.stderr
    assert pins.load(path)["ROCM_BASE_DIGEST"] == digest
    assert "# the tag's manifest digest" in path.read_text()  # the comment survives


def test_unreachable_registry_is_one_line_and_changes_nothing(tmp_path):
    path = _versions(tmp_path)
    before = path.read_text()
    with pytest.raises(UserError, match=r"cannot resolve 127\.0\.0\.1:9/rocm/none:x .*make refresh-base"):
        preflight.refresh_base({**pins.load(path), "ROCM_BASE_IMAGE": "127.0.0.1:9/rocm/none:x"}, path)
    assert path.read_text() == before


def test_production_preflight_refuses_an_unpinned_base(pin):
    with pytest.raises(UserError, match="ROCM_BASE_DIGEST=unresolved is not a sha256 digest; run `make refresh-base`"):
        preflight.check_production_base({**pin, "ROCM_BASE_DIGEST": "unresolved"})
