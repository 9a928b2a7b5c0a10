"""Negative builds: the rocm_base guards really fail the build (sandbox profile, real bake)."""

from __future__ import annotations

import subprocess

import pytest

from rocm_images import REPO_ROOT
from rocm_images.host import graph

pytestmark = pytest.mark.engine


def _bake(*overrides: str, target: str = "rocm_base-core") -> subprocess.CompletedProcess[str]:
    env = graph.environment("sandbox", "guardtest")
    cmd = graph.bake_cmd("sandbox", "--progress=plain", *[a for o in overrides for a in ("--set", o)],
                         *graph.with_contexts("sandbox", [target], env))
    return subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=1800)


@pytest.fixture(scope="module", autouse=True)
def _sources(image_ref):  # the sandbox base and sources exist once the images are built
    return image_ref


def test_build_fails_without_module_mhc():
    """The no-module_mhc control's rocm_base (production: PREBUILD_KERNELS=0; sandbox: no CPU module_mhc either)
    with the requirement switched back on."""
    proc = _bake("rocm_base-no-module-mhc.args.MODULE_MHC_REQUIRED=1", target="rocm_base-no-module-mhc")
    assert proc.returncode != 0
    assert "module_mhc.so missing after the aiter build" in proc.stdout + proc.stderr


def test_build_fails_for_an_aiter_ref_lacking_the_fix():
    proc = _bake("rocm_base-core.args.AITER_BRANCH=v0.1.13")
    assert proc.returncode != 0
    assert "AITER_BRANCH=v0.1.13 is older than v0.1.14" in proc.stdout + proc.stderr


def test_build_fails_when_module_mhc_lacks_a_gpu_arch():
    """module_mhc.so compiled for real from aiter's mhc_kernels.cu, but for gfx942 alone, while GPU_ARCHS names
    gfx950 too: rocm_base's code-object check fails the build (in both profiles: the sandbox skips nothing)."""
    proc = _bake("sandbox-aiter-cpu.args.AITER_DEVICE_ARCHS=gfx942")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-2000:]
    assert "compiled by hipcc for gfx942 (real code objects" in out  # the planted file is a real build
    assert "module_mhc.so has code objects for gfx942 but GPU_ARCHS needs gfx950 too" in out, out[-3000:]
