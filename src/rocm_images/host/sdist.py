"""Fetch the vLLM source distribution from the package index pip is configured for; sha256-checked, cached."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from .. import REPO_ROOT, UserError

CACHE_DIR = Path(os.environ.get("ROCM_IMAGES_CACHE", REPO_ROOT / "build" / "cache"))
_JSON = "application/vnd.pypi.simple.v1+json"


def index_url() -> str:
    """The index pip itself would use: its configured index-url, else pip's built-in default."""
    out = subprocess.run([sys.executable, "-m", "pip", "config", "get", "global.index-url"],
                         capture_output=True, text=True)
    if out.returncode == 0 and out.stdout.strip():
        return out.stdout.strip().rstrip("/")
    env = os.environ.get("PIP_INDEX_URL")
    if env:
        return env.rstrip("/")
    from pip._internal.models.index import PyPI  # pip's own default; we never name a host

    return PyPI.simple_url.rstrip("/")


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _index_entry(name: str, project: str) -> dict:
    import requests

    resp = requests.get(f"{index_url()}/{project}/", headers={"Accept": _JSON}, timeout=60)
    resp.raise_for_status()
    files = [f for f in resp.json()["files"] if f["filename"] == name]
    if not files:
        raise UserError(f"{name} is not on the package index; check the vLLM version or ref you asked for")
    return files[0]


def index_sha256(version: str, project: str = "vllm") -> str:
    """The sha256 the index publishes for a release's sdist: the check for refs that versions.env does not pin."""
    return _index_entry(f"{project}-{version}.tar.gz", project)["hashes"]["sha256"]


def fetch(version: str, sha256: str, project: str = "vllm") -> Path:
    """Return the cached sdist path, downloading it once. A checksum mismatch leaves nothing cached."""
    import requests

    name = f"{project}-{version}.tar.gz"
    dest = CACHE_DIR / name
    if dest.is_file() and sha256_of(dest) == sha256:
        return dest
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    part = dest.with_suffix(".part")
    with requests.get(_index_entry(name, project)["url"], stream=True, timeout=300) as r:
        r.raise_for_status()
        with part.open("wb") as f:
            shutil.copyfileobj(r.raw, f)
    got = sha256_of(part)
    if got != sha256:
        part.unlink()
        raise UserError(f"{name}: sha256 {got} != VLLM_SDIST_SHA256 {sha256}; the download was discarded, "
                        "fix the pin or the index")
    part.replace(dest)
    return dest


def unpack(sdist: Path, dest: Path) -> Path:
    """Unpack into dest (replaced atomically) and return the source tree root. An sdist of a ref versions.env does
    not pin is checked only by the index's checksum: tarfile's "data" filter refuses members that would leave the
    target (absolute paths, "..", links pointing out, devices), and nothing of a refused tarball is kept."""
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        with tarfile.open(sdist) as tf:
            tf.extractall(tmp, filter="data")
    except tarfile.FilterError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise UserError(f"{sdist.name}: refused to unpack, member {e.tarinfo.name!r} would leave the source "
                        f"directory ({type(e).__name__}); the sdist is not trustworthy, fetch it again or "
                        "pin another release") from None
    entries = list(tmp.iterdir())
    if len(entries) != 1 or not entries[0].is_dir():
        shutil.rmtree(tmp, ignore_errors=True)
        raise UserError(f"{sdist.name}: not an sdist (expected one top-level directory); pin another release")
    (root,) = entries
    shutil.rmtree(dest, ignore_errors=True)
    root.rename(dest)
    tmp.rmdir()
    return dest


def source_tree(version: str, sha256: str, root: Path) -> Path:
    """root/vllm-<version>: the sdist with that sha256, unpacked once (a stamp records which one)."""
    dest = root / f"vllm-{version}"
    stamp = dest / ".sdist-sha256"
    if stamp.is_file() and stamp.read_text().strip() == sha256:
        return dest
    unpack(fetch(version, sha256), dest)
    stamp.write_text(sha256 + "\n")
    return dest
