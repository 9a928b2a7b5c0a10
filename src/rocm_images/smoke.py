"""`make smoke IMAGE=<ref>`: the image suite against any local or pulled image. GPU tests run only where
/dev/kfd exists; elsewhere pytest reports them as skipped with the reason, never as passed."""

from __future__ import annotations

import os
import subprocess
import sys

from . import REPO_ROOT, UserError, engine


def run(image: str) -> int:
    if not image:
        raise UserError("no image given; run `make smoke IMAGE=<ref>` (e.g. IMAGE=rocm-vllm/vllm:latest)")
    engine.require()
    if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode != 0:
        pulled = subprocess.run(["docker", "pull", image], capture_output=True, text=True)
        if pulled.returncode != 0:
            raise UserError(f"image {image} is neither local nor pullable; build it (`make image`) or log in")
    if not os.path.exists("/dev/kfd"):
        print("smoke: no /dev/kfd on this host: GPU-marked tests will be reported as SKIPPED (not run)")
    env = dict(os.environ, IMAGE=image)
    return subprocess.run([sys.executable, "-m", "pytest", "-ra", "tests/image/test_image.py"], cwd=REPO_ROOT,
                          env=env).returncode
