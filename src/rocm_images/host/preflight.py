"""Preflight: what must hold before anything builds (disk, the production base pinned by digest and
reachable), and `make refresh-base`, which pins that digest."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from .. import REPO_ROOT, UserError
from ..stages import pins
from . import sandbox_base

MIN_FREE_GB = float(os.environ.get("ROCM_IMAGES_MIN_FREE_GB", "15"))
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def check_disk(path: Path = REPO_ROOT, need_gb: float = MIN_FREE_GB) -> None:
    free = shutil.disk_usage(path).free / 2**30
    docker_root = Path("/var/lib/docker")
    if docker_root.exists():
        free = min(free, shutil.disk_usage(docker_root).free / 2**30)
    if free < need_gb:
        raise UserError(f"only {free:.1f} GiB free, a build needs {need_gb:.0f} GiB; free disk space "
                        "(e.g. `docker builder prune`) and retry")


def check_production_base(pin: dict[str, str]) -> None:
    if not DIGEST.match(pin["ROCM_BASE_DIGEST"]):
        raise UserError(f"ROCM_BASE_DIGEST={pin['ROCM_BASE_DIGEST']} is not a sha256 digest; run `make refresh-base` "
                        "on a host that can reach the registry and commit versions.env")
    ref = f"{pin['ROCM_BASE_IMAGE']}@{pin['ROCM_BASE_DIGEST']}"
    if sandbox_base.exists(ref):
        return
    try:
        ok = subprocess.run(["docker", "buildx", "imagetools", "inspect", ref], capture_output=True,
                            timeout=60).returncode == 0
    except subprocess.TimeoutExpired:
        ok = False
    if not ok:
        raise UserError(f"production base image {ref} is unreachable from this machine (no registry access); "
                        "build offline with `make image PROFILE=sandbox`")


def refresh_base(pin: dict[str, str], path: Path = pins.VERSIONS_FILE) -> str:
    """Resolve ROCM_BASE_IMAGE's tag to its manifest digest now and write it to versions.env."""
    ref = pin["ROCM_BASE_IMAGE"]
    out = subprocess.run(["docker", "buildx", "imagetools", "inspect", ref, "--format", "{{json .Manifest}}"],
                         capture_output=True, text=True)
    digest = json.loads(out.stdout or "{}").get("digest", "") if out.returncode == 0 else ""
    if not DIGEST.match(digest):
        raise UserError(f"cannot resolve {ref} (no registry access?); run `make refresh-base` where it is reachable")
    pins.set_value("ROCM_BASE_DIGEST", digest, path)
    return digest
