"""`make image` (the README's first command, here on the sandbox profile) builds, then runs the main job once
and says what ran, labelled as a sandbox result."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rocm_images import REPO_ROOT

pytestmark = pytest.mark.engine


def test_make_image_builds_and_runs_the_probe(sandbox_images):
    proc = subprocess.run([sys.executable, "-m", "rocm_images", "image", "--profile", "sandbox", "--tag", "test"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "built (sandbox) — SANDBOX images (stand-ins; not a ROCm result; cannot be pushed):" in out
    assert f"ran {sandbox_images['vllm'][0]}: mHC pre=aiter post=aiter fused_post_pre=False" in out
    assert "tilelang compile requests 0 [SANDBOX: not a ROCm result]" in out
