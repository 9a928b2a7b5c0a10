"""`make smoke` on a host without /dev/kfd: the GPU tests are reported as not run, with the reason."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from rocm_images import REPO_ROOT

pytestmark = pytest.mark.engine


@pytest.mark.skipif(os.path.exists("/dev/kfd"), reason="this host has an AMD GPU: the GPU tests run for real")
def test_smoke_without_kfd_reports_gpu_tests_as_not_run(sandbox_images):
    image = sandbox_images["vllm"][0]
    proc = subprocess.run([sys.executable, "-m", "rocm_images", "smoke", "--image", image, "--select", "gpu"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=900)
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:]
    assert "smoke: no /dev/kfd on this host: GPU-marked tests will be reported as SKIPPED (not run)" in out
    assert "SKIPPED [1]" in out and "no /dev/kfd: running a tilelang kernel needs an AMD GPU" in out
    summary = out.strip().splitlines()[-1]
    assert "skipped" in summary and "passed" not in summary, summary


def test_smoke_without_an_image_is_one_line():
    proc = subprocess.run([sys.executable, "-m", "rocm_images", "smoke", "--image", ""], cwd=REPO_ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("error: no image given; run `make smoke IMAGE=<ref>` "
                                   "(e.g. IMAGE=rocm-vllm/vllm:latest)")
