"""Engine faults: each is one line that says what to run, before anything is built."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from rocm_images import REPO_ROOT
from rocm_images.host import engine

pytestmark = pytest.mark.engine
REAL_DOCKER = shutil.which("docker")


def _fake_docker(tmp_path, body: str) -> str:
    """A `docker` earlier on PATH that answers some subcommands itself and passes the rest to the real one."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "docker"
    script.write_text(f"#!/bin/sh\n{body}\nexec {REAL_DOCKER} \"$@\"\n")
    script.chmod(0o755)
    return f"{bin_dir}:{os.environ['PATH']}"


def test_docker_cli_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert engine.status().startswith("docker CLI not found; install")


def test_engine_not_installed(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", _fake_docker(tmp_path, 'echo "Cannot connect to the Docker daemon" >&2; exit 1'))
    monkeypatch.setattr(engine, "BIN_DIR", tmp_path / "nowhere")
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name == "dockerd" else REAL_DOCKER)
    assert engine.status().startswith("Docker engine (dockerd) is not installed; run `make engine`")


def test_engine_installed_but_not_running_is_one_line_from_the_cli(tmp_path):
    env = dict(os.environ, DOCKER_HOST=f"unix://{tmp_path}/no-daemon.sock")
    proc = subprocess.run([sys.executable, "-m", "rocm_images", "image", "--profile", "sandbox"], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"error: Docker engine is installed but not running (no answer on "
                                   f"unix://{tmp_path}/no-daemon.sock); run `make engine` to start it")


@pytest.mark.parametrize("answer,message", [
    ('echo "github.com/docker/buildx 0.10.4 abcdef"; exit 0', "docker buildx 0.10.4 is older than 0.13"),
    ("echo \"docker: 'buildx' is not a docker command.\" >&2; exit 1", "docker buildx plugin is missing"),
])
def test_buildx_missing_or_too_old(monkeypatch, tmp_path, answer, message):
    monkeypatch.setenv("PATH", _fake_docker(tmp_path, f'[ "$1 $2" = "buildx version" ] && {{ {answer}; }}'))
    assert engine.status().startswith(message) and "run `make engine`" in engine.status()
