"""Images built by bake (sandbox in CI, production on AMD hosts). IMAGE=<ref> picks the image under test;
without it the session builds the sandbox images first (`make image PROFILE=sandbox`)."""

from __future__ import annotations

import json
import os
import subprocess
import uuid

import pytest
import testinfra

from rocm_images.host import transaction
from rocm_images.host.smoke import gpu_flags

HAS_GPU = os.path.exists("/dev/kfd")


@pytest.fixture(scope="session")
def image_ref(request) -> str:
    ref = os.environ.get("IMAGE")
    if ref:
        return ref
    return request.getfixturevalue("sandbox_images")["vllm"][0]


def docker_run(image: str, *cmd: str, env: dict[str, str] | None = None, entrypoint: str | None = None):
    args = ["docker", "run", "--rm", *gpu_flags()]
    for k, v in (env or {}).items():
        args += ["-e", f"{k}={v}"]
    if entrypoint is not None:
        args += ["--entrypoint", entrypoint]
    return subprocess.run([*args, image, *cmd], capture_output=True, text=True, timeout=600)


def probe(image: str, env: dict[str, str] | None = None, run: bool = True) -> dict:
    proc = docker_run(image, "mhc-probe", *(["--run"] if run else []), env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {**json.loads(proc.stdout), "_stderr": proc.stderr}  # stdout carries the JSON alone


@pytest.fixture(scope="session")
def host(image_ref):
    """A long-running container of the image under test, as testinfra's docker:// host."""
    name = f"rocm-images-test-{uuid.uuid4().hex[:8]}"
    subprocess.run(["docker", "run", "-d", "--name", name, *gpu_flags(), "--entrypoint", "sleep", image_ref,
                    "infinity"], check=True, capture_output=True)
    try:
        yield testinfra.get_host(f"docker://{name}")
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


@pytest.fixture(scope="session")
def labels(image_ref) -> dict[str, str]:
    found = transaction.image_labels(image_ref)
    assert found is not None, f"{image_ref} is not in the engine"
    return found


@pytest.fixture(scope="session")
def role(labels, label) -> dict[str, str]:
    """The image's labels keyed by role (bake.hcl label_names()), so no test names a label."""
    return {r: labels[name] for r, name in label.items() if name in labels}


@pytest.fixture(scope="session")
def default_probe(image_ref) -> dict:
    return probe(image_ref)
