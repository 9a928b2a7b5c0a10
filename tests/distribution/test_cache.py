"""The cache switch: CACHE=local (a directory, sandbox) or CACHE=registry (production CI) exports BuildKit's
cache for the image targets and imports it on the next build; CACHE unset keeps only the engine's own cache."""

from __future__ import annotations

import json
import subprocess

import pytest
import requests

from rocm_images import REPO_ROOT
from rocm_images.host import graph, local_registry

pytestmark = pytest.mark.engine


def _bake(env_extra: dict[str, str]) -> str:
    env = dict(graph.environment("sandbox", "cachetest"), **env_extra)
    proc = subprocess.run(graph.bake_cmd("sandbox", "--progress=plain",
                                         *graph.with_contexts("sandbox", ["rocm_base"], env)), cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stderr


@pytest.mark.parametrize("cache,expect", [("", []), ("local", ["type=local"]), ("registry", ["type=registry"])])
def test_switch_selects_the_cache_backend(monkeypatch, cache, expect):
    monkeypatch.setenv("CACHE", cache)
    monkeypatch.setenv("CACHE_REF", "registry.example.com/ml/rocm-vllm-cache")
    printed = json.loads(graph.print_graph("production", ["default"]))
    for name in ("rocm_base", "vllm", "vllm-openai"):
        tgt = printed["target"][name]
        assert [c.split(",")[0] for c in tgt.get("cache-to") or []] == expect
        assert [c.split(",")[0] for c in tgt.get("cache-from") or []] == expect


def test_local_cache_is_exported_then_imported(sandbox_images, tmp_path):
    env = {"CACHE": "local", "CACHE_DIR": str(tmp_path / "cache")}
    first = _bake(env)
    index = json.loads((tmp_path / "cache" / "rocm_base" / "index.json").read_text())
    assert index["manifests"], "no cache manifest written"
    assert "local cache import" in first and "not found" in first  # nothing to import the first time
    second = _bake(env)
    assert "local cache import" not in second


def test_registry_cache_lands_in_the_registry(sandbox_images, tmp_path):
    with local_registry.serve(tmp_path) as addr:
        _bake({"CACHE": "registry", "CACHE_REF": f"{addr}/cache/rocm-vllm"})
        tags = requests.get(f"http://{addr}/v2/cache/rocm-vllm/tags/list", timeout=10).json()["tags"]
    assert "rocm_base" in tags
