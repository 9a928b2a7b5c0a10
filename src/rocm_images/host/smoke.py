"""`make smoke IMAGE=<ref>`: the image suite against any local or pulled image. GPU tests run only where
/dev/kfd exists; elsewhere pytest reports them as skipped with the reason, never as passed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from .. import REPO_ROOT, UserError
from . import engine, sandbox_base


def run(image: str, select: str = "") -> int:
    if not image:
        raise UserError("no image given; run `make smoke IMAGE=<ref>` (e.g. IMAGE=rocm-vllm/vllm:latest)")
    engine.require()
    if not sandbox_base.exists(image):
        pulled = subprocess.run(["docker", "pull", image], capture_output=True, text=True)
        if pulled.returncode != 0:
            raise UserError(f"image {image} is neither local nor pullable; build it (`make image`) or log in")
    if not os.path.exists("/dev/kfd"):
        print("smoke: no /dev/kfd on this host: GPU-marked tests will be reported as SKIPPED (not run)")
    env = dict(os.environ, IMAGE=image)
    cmd = [sys.executable, "-m", "pytest", "-ra", "tests/image/test_image.py"] + (["-k", select] if select else [])
    return subprocess.run(cmd, cwd=REPO_ROOT, env=env).returncode


def gpu_flags() -> list[str]:
    """`docker run` flags that hand the host's AMD GPUs to a container (none where /dev/kfd is missing)."""
    if not os.path.exists("/dev/kfd"):
        return []
    return ["--device", "/dev/kfd", "--device", "/dev/dri", "--group-add", "video", "--group-add", "render"]


def probe_summary(image: str) -> str:
    """Run the image's main job once (`mhc-probe --run`) on the host's GPUs, if any, and say what ran."""
    proc = subprocess.run(["docker", "run", "--rm", *gpu_flags(), image, "mhc-probe", "--run"], capture_output=True,
                          text=True, timeout=600)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        raise UserError(f"{image}: mhc-probe failed: {tail[0]}")
    p = json.loads(proc.stdout)
    sel, run, so = p["selected"], p.get("run", {}), p["aiter"].get("module_mhc") or {}
    result = (f"max |diff| vs vLLM torch reference {run['max_abs_diff_vs_torch_reference']:.3g}" if run.get("ok")
              else "see the error above")
    return (f"{image}: mHC pre={sel['pre']} post={sel['post']} fused_post_pre={sel['fused_post_pre']}; "
            f"module_mhc.so {so.get('size', 'MISSING')} bytes; {run.get('what_ran', 'nothing ran')} ({result}); "
            f"tilelang compile requests {p['tilelang']['compile_requests']}"
            + (" [SANDBOX: not a ROCm result]" if p.get("sandbox") else ""))
