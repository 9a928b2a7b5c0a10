"""An interrupted `make image` lets bake cancel its build in the engine before it reports the interruption: a rerun
started right after must not meet the engine still tearing down the cancelled build."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from rocm_images.host import transaction

# stands in for buildx: on SIGINT it "cancels" (takes a moment), records that it did, and exits 1
FAKE_BAKE = """
import signal, sys, time
def cancel(signum, frame):
    time.sleep(0.5)
    open(sys.argv[1], "w").write("cancelled")
    sys.exit(1)
signal.signal(signal.SIGINT, cancel)
print("ready", flush=True)
time.sleep(60)
"""


def test_an_interrupt_sends_sigint_to_bake_and_waits_for_it_to_cancel(tmp_path: Path) -> None:
    marker = tmp_path / "cancelled"
    proc = subprocess.Popen([sys.executable, "-c", FAKE_BAKE, str(marker)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    previous = signal.signal(signal.SIGTERM, transaction._raise_interrupt)
    # the signal `make image` gets, from another process (so it reaches the main thread blocked in wait)
    sender = subprocess.Popen(["sh", "-c", f"sleep 0.3; kill -TERM {os.getpid()}"])
    try:
        with pytest.raises(KeyboardInterrupt):
            transaction._wait_or_cancel(proc)
    finally:
        sender.wait()
        signal.signal(signal.SIGTERM, previous)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1, "bake was killed or left running instead of cancelling"
    assert marker.read_text() == "cancelled"


def test_bake_s_own_exit_code_is_returned() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(3)"])
    assert transaction._wait_or_cancel(proc) == 3
