"""A cold node: a second dockerd with its own data root (nothing of the main engine's images, layers or build
cache), for measuring and testing a first pull. Classic image store (layers unpacked into overlay2 as they
arrive, as on most nodes), its own bridge and no iptables rules (containers run with --network none), its own
containerd namespaces. Removed, data root and bridge, when the block ends. (Not `--bridge=none`: a dockerd started
so deletes the main engine's docker0.)"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .. import UserError
from .engine import BIN_DIR


@contextmanager
def serve(root: Path, wait_s: int = 60) -> Iterator[str]:
    """Start the node's dockerd under root; yields its DOCKER_HOST (unix://…)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "daemon.json").write_text(json.dumps({}))  # not the main engine's: classic store, no mirrors
    host = f"unix://{root / 'docker.sock'}"
    ns = f"cold-{root.name}"
    bridge = f"rocm-cold{os.getpid() % 10000}"
    if subprocess.run(["ip", "link", "add", bridge, "type", "bridge"], capture_output=True).returncode != 0:
        raise UserError(f"cannot create the cold node's bridge {bridge} (`ip link add` needs root and iproute2)")
    cmd = [str(BIN_DIR / "dockerd"), "--data-root", str(root / "data"), "--exec-root", str(root / "exec"),
           "--pidfile", str(root / "docker.pid"), "-H", host, "--config-file", str(root / "daemon.json"),
           "--bridge", bridge, "--iptables=false", "--ip6tables=false",
           "--containerd-namespace", ns, "--containerd-plugins-namespace", f"{ns}-plugins"]
    with (root / "dockerd.log").open("ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    try:
        for _ in range(wait_s * 4):
            if subprocess.run(["docker", "-H", host, "version"], capture_output=True).returncode == 0:
                break
            if proc.poll() is not None:
                raise UserError(f"the cold node's dockerd exited ({proc.returncode}); see {root / 'dockerd.log'}")
            time.sleep(0.25)
        else:
            raise UserError(f"the cold node's dockerd did not answer within {wait_s}s; see {root / 'dockerd.log'}")
        yield host
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        subprocess.run(["ip", "link", "del", bridge], capture_output=True)
        shutil.rmtree(root / "data", ignore_errors=True)


def docker(host: str, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    """`docker <args>` against the node; a failure is one line."""
    proc = subprocess.run(["docker", "-H", host, *args], capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["?"]
        raise UserError(f"cold node: docker {args[0]} failed: {tail[0]}")
    return proc
