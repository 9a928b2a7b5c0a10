"""Every source the sandbox reads works on a machine that is not this one: with pip's find-links hidden (a
newcomer's machine), torch comes from a PEP 503 index (here one on loopback), and the build records which wheel;
with no source at all, `make image` stops before anything builds, in one line that says what to set."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pep503_index
import pytest

from rocm_images import REPO_ROOT
from rocm_images.host import graph, sdist, torch_wheel, transaction

CLI = [sys.executable, "-m", "rocm_images"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_no_torch_source_stops_in_one_line_before_anything_builds(tmp_path):
    index = f"http://127.0.0.1:{_closed_port()}/simple"
    env = pep503_index.hidden_local_sources(dict(os.environ), tmp_path / "cache", index)
    start = time.monotonic()
    proc = subprocess.run([*CLI, "image", "--profile", "sandbox", "--tag", "never"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    err = proc.stderr.strip()
    assert "\n" not in err and err.startswith("error: no torch==") and "none in pip's find-links (none configured)" \
        in err and f"index {index} failed (ConnectionError); set SANDBOX_TORCH_INDEX=" in err
    assert time.monotonic() - start < 30 and transaction.candidates() == []
    assert not (tmp_path / "cache" / "torch").exists() or list((tmp_path / "cache" / "torch").iterdir()) == []


@pytest.mark.engine
@pytest.mark.slow
def test_sandbox_build_takes_torch_from_an_index(sandbox_images, tmp_path, label, pin):
    """The wheel this machine has, served from a loopback index to a build that cannot see pip's find-links:
    the image's torch is that wheel, and its labels and build-info say so."""
    local = torch_wheel.resolve(pin)  # this machine's wheel (pip's find-links), to serve
    with pep503_index.serve(tmp_path / "idx", "torch", [Path(local.file)]) as (index, requested):
        env = pep503_index.hidden_local_sources(dict(os.environ), tmp_path / "cache", index)
        proc = subprocess.run([*CLI, "image", "--profile", "sandbox", "--targets", "rocm_base", "--tag", "torchidx"],
                              cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    ref = f"{os.environ['IMAGE_PREFIX']}/rocm_base:torchidx"
    try:
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert f"torch (CPU stand-in for ROCm torch): sha256:{local.sha256} from index {index}" in proc.stdout
        name = Path(local.file).name
        assert "/simple/torch/" + name.replace("+", "%2B") in requested  # the wheel came over HTTP from the index
        cached = tmp_path / "cache" / "torch" / name
        assert sdist.sha256_of(cached) == local.sha256
        want = f"sha256:{local.sha256} from index {index}"
        assert transaction.image_labels(ref)[label["torch_wheel"]] == want
        out = subprocess.run(["docker", "run", "--rm", "--entrypoint", "python", ref, "-c",
                              "import json, torch; print(torch.__version__); "
                              "print(json.dumps(json.load(open('/etc/rocm-images/build-info.json'))))"],
                             capture_output=True, text=True, check=True).stdout.splitlines()
        assert out[0].startswith(pin["SANDBOX_TORCH_VERSION"])
        assert json.loads(out[1])["labels"][label["torch_wheel"]] == want
    finally:
        subprocess.run(["docker", "image", "rm", "-f", ref], capture_output=True)
        torch_wheel.prepare(pin)  # the suite's later builds take this machine's wheel again


@pytest.mark.engine
def test_a_torch_wheel_other_than_the_labelled_one_fails_the_build(sandbox_images):
    """The labels promise a sha256; a build handed a context that does not hold that wheel stops."""
    env = dict(graph.environment("sandbox", "wrongsha"), SANDBOX_TORCH_SHA256="0" * 64)
    cmd = graph.bake_cmd("sandbox", *graph.with_contexts("sandbox", ["sandbox-wheels"], env))
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "torch wheel: not the one SANDBOX_TORCH_SHA256 names; build through make image" in proc.stderr
