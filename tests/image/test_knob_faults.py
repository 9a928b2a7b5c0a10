"""`docker run` faults caught by the entrypoint before vLLM starts: one line each, errors exit 2, warnings
let the container run."""

from __future__ import annotations

import pytest
from conftest import HAS_GPU, docker_run

pytestmark = pytest.mark.engine


def _lines(proc, kind: str) -> list[str]:
    return [line for line in proc.stderr.splitlines() if line.startswith(f"[rocm-images] {kind}")]


@pytest.mark.parametrize("var,value", [("AITER_JIT_DIR", "/tmp/aiter-jit"), ("AITER_REBUILD", "1")])
def test_aiter_jit_overrides_warn_that_module_mhc_is_bypassed(image_ref, var, value):
    proc = docker_run(image_ref, "true", env={var: value})
    assert proc.returncode == 0, proc.stderr[-2000:]
    (warning,) = _lines(proc, "WARNING")
    assert f"{var} is set: aiter bypasses the prebuilt module_mhc.so and JIT-compiles it at start-up" in warning


def test_tilelang_clear_cache_warns_and_stops_an_opted_in_container(image_ref):
    proc = docker_run(image_ref, "true", env={"TILELANG_CLEAR_CACHE": "1"})
    assert proc.returncode == 0 and "TILELANG_CLEAR_CACHE=1 makes `import tilelang` raise" in _lines(
        proc, "WARNING")[0]
    proc = docker_run(image_ref, "true", env={"TILELANG_CLEAR_CACHE": "1", "VLLM_ROCM_USE_TILELANG_MHC": "1"})
    assert proc.returncode == 2
    (error,) = _lines(proc, "error")
    assert "TILELANG_CLEAR_CACHE=1 makes `import tilelang` raise" in error and "unset it" in error


def test_opted_into_tilelang_without_tilelang_is_an_error(image_ref):
    script = "pip uninstall -y -q tilelang >/dev/null 2>&1; exec rocm-images-entrypoint true"
    proc = docker_run(image_ref, "-c", script, env={"VLLM_ROCM_USE_TILELANG_MHC": "1"}, entrypoint="sh")
    assert proc.returncode == 2
    (error,) = _lines(proc, "error")
    assert "VLLM_ROCM_USE_TILELANG_MHC=1 but tilelang is not installed in this image" in error


@pytest.mark.skipif(HAS_GPU, reason="a real GPU's arch decides; this check uses the stand-in arch")
def test_tilelang_on_gfx942_warns_loudly_with_the_reason(image_ref):
    proc = docker_run(image_ref, "true", env={"VLLM_ROCM_USE_TILELANG_MHC": "1", "ROCM_IMAGES_STANDIN_GFX": "gfx942"})
    assert proc.returncode == 0
    (warning,) = _lines(proc, "WARNING")
    assert "WRONG OUTPUT" in warning and "64" in warning and "unset VLLM_ROCM_USE_TILELANG_MHC" in warning
    proc = docker_run(image_ref, "true", env={"VLLM_ROCM_USE_TILELANG_MHC": "1", "ROCM_IMAGES_STANDIN_GFX": "gfx950"})
    assert _lines(proc, "WARNING") == []
