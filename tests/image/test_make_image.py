"""`make image` (the README's first command, here on the sandbox profile) builds, then runs the main job once
and says what ran, labelled as a sandbox result."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rocm_images import REPO_ROOT
from rocm_images.host import transaction

pytestmark = pytest.mark.engine


def test_make_image_builds_and_runs_the_probe(sandbox_images):
    proc = subprocess.run([sys.executable, "-m", "rocm_images", "image", "--profile", "sandbox", "--tag", "test"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "built (sandbox) — SANDBOX images (stand-ins; not a ROCm result; cannot be pushed):" in out
    assert f"ran {sandbox_images['vllm'][0]}: mHC pre=aiter post=aiter fused_post_pre=False" in out
    assert "tilelang compile requests 0 [SANDBOX: not a ROCm result]" in out


def _untagged_ours(label: dict[str, str]) -> set[str]:
    out = subprocess.run(["docker", "image", "ls", "-q", "--no-trunc", "--filter", "dangling=true",
                          "--filter", f"label={label['project']}"], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_a_build_loads_no_untagged_image_of_the_targets_it_takes_as_contexts(sandbox_images, label):
    """rocm_base-core, build-tools and the sandbox's base, wheel, compiler, CK and aiter targets are contexts of the
    images, not images: a (warm) build of the published images adds no untagged image of ours to the engine
    (bake.hcl _common's cache-only output, requested by graph.with_contexts)."""
    subprocess.run(["docker", "image", "prune", "-f", "--filter", f"label={label['project']}"], check=True,
                   capture_output=True)
    before = _untagged_ours(label)  # what prune keeps (an image a container still uses)
    built = transaction.build("sandbox", ["default"], tag="contexts")
    try:
        assert _untagged_ours(label) - before == set()
    finally:
        subprocess.run(["docker", "image", "rm", *[t for tags in built.values() for t in tags]], capture_output=True)
