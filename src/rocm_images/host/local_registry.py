"""A throwaway registry on loopback (Debian's docker-registry), for push tests and for trying `make push`.
The engine treats 127.0.0.0/8 as an insecure registry, so no TLS is needed there."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .. import UserError

BINARY = "docker-registry"


def ensure_installed() -> str:
    path = shutil.which(BINARY)
    if path:
        return path
    apt = ["apt-get", "install", "-y", "-q", "--no-install-recommends", BINARY]
    if subprocess.run(apt, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True)
        if subprocess.run(apt, capture_output=True).returncode != 0:
            raise UserError(f"could not install Debian's {BINARY} (needs root and the machine's apt sources)")
    return shutil.which(BINARY) or f"/usr/bin/{BINARY}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(root: Path) -> Iterator[str]:
    """Run a registry storing under root; yields its address (127.0.0.1:<port>). Its blobs go when the block
    ends (a bench or test push leaves GBs there otherwise)."""
    import requests

    binary = ensure_installed()
    addr = f"127.0.0.1:{_free_port()}"
    config = root / "config.yml"
    config.write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
                      f"  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n")
    proc = subprocess.Popen([binary, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                if requests.get(f"http://{addr}/v2/", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            raise UserError(f"{binary} did not answer on {addr}")
        yield addr
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(root / "data", ignore_errors=True)
