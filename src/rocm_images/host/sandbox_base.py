"""The sandbox profile's base images: Debian made by debootstrap from the machine's own mirror, `docker import`ed.

The base (SANDBOX_SUITE) stands in for the ROCm base image (which cannot be pulled here); the compiler base
(SANDBOX_COMPILER_SUITE) is the root Debian's ROCm 7.2 compilers install into (docker/Dockerfile.sandbox). Cached:
rebuilt only when missing or asked.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from .. import UserError
from . import engine

# what the sandbox layers need from the OS: python + venv, a C compiler (packages that build C extensions), git
PACKAGES = ("python3", "python3-venv", "python3-dev", "ca-certificates", "gcc", "libc6-dev", "git", "file")
STANDIN_LABEL = "sandbox stand-in for the ROCm base image (Debian, no ROCm)"
# the compiler root needs apt alone (its packages come in the build)
COMPILER_PACKAGES = ("ca-certificates",)
COMPILER_LABEL = "sandbox stand-in for the ROCm base image's compilers (Debian root for ROCm 7.2 hipcc)"


def _sandbox_label() -> str:
    from . import graph  # noqa: PLC0415  (graph imports this module for image_ref)

    return graph.label_names()["sandbox"]


def _suite(pins: dict[str, str], compiler: bool) -> str:
    return pins["SANDBOX_COMPILER_SUITE" if compiler else "SANDBOX_SUITE"]


def image_ref(pins: dict[str, str], compiler: bool = False) -> str:
    return f"rocm-images/sandbox-base:{_suite(pins, compiler)}"


def exists(ref: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", ref], capture_output=True).returncode == 0


def labelled(ref: str) -> bool:
    """The base carries the stand-in label under its current name (images inherit it: a renamed label would
    leave the old name on every sandbox image)."""
    out = subprocess.run(["docker", "image", "inspect", "--format", "{{json .Config.Labels}}", ref],
                         capture_output=True, text=True)
    return out.returncode == 0 and _sandbox_label() in (json.loads(out.stdout) or {})


def ensure(pins: dict[str, str], rebuild: bool = False, compiler: bool = False) -> str:
    """Return the local image reference, building it when missing, labelled otherwise than bake.hcl names the
    label, or when rebuild is asked. compiler: the compiler root's base instead of the sandbox base."""
    engine.require()
    ref = image_ref(pins, compiler)
    if labelled(ref) and not rebuild:
        return ref
    if not shutil.which("debootstrap"):
        raise UserError("debootstrap is missing; run `make engine` (installs it) or `apt-get install debootstrap`")
    suite, mirror = _suite(pins, compiler), engine.mirror_uri()
    packages, label = (COMPILER_PACKAGES, COMPILER_LABEL) if compiler else (PACKAGES, STANDIN_LABEL)
    with tempfile.TemporaryDirectory(prefix="sandbox-base-", dir="/var/tmp") as tmp:
        root = Path(tmp) / "root"
        proc = subprocess.run(
            ["debootstrap", "--variant=minbase", f"--include={','.join(packages)}", suite, str(root), mirror],
            capture_output=True, text=True)
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-1:]
            raise UserError(f"debootstrap {suite} failed ({' '.join(tail)}); check the apt mirror and disk space")
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            shutil.rmtree(root / junk, ignore_errors=True)
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        imp = subprocess.run(
            ["docker", "import", "--change", f'LABEL {_sandbox_label()}="{label}"',
             "--change", 'CMD ["/bin/bash"]', "-", ref], stdin=tar.stdout, capture_output=True, text=True)
        tar.wait()
        if imp.returncode != 0:
            raise UserError(f"docker import of the sandbox base failed: {imp.stderr.strip()}")
    return ref
