"""hadolint (Dockerfiles), ruff (Python), shellcheck (shell) — binaries from their PyPI packages."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from .. import REPO_ROOT

# DL3008/DL3013: pins live in versions.env, not Dockerfile lines; DL3006/DL3022: FROM/COPY --from a named context
HADOLINT_IGNORE = ("DL3008", "DL3013", "DL3006", "DL3003", "DL3042", "DL4006", "DL3022")


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} not found; run `make venv`")
    return found


def commands() -> dict[str, list[str]]:
    shell = [str(p) for p in [REPO_ROOT / ".ci" / "run", *REPO_ROOT.glob("images/**/*.sh"),
                              REPO_ROOT / "images/rocm_base/pip-net", REPO_ROOT / "images/vllm/bin/mhc-probe",
                              *REPO_ROOT.glob("examples/**/*.sh"), *REPO_ROOT.glob("examples/**/*.sbatch")]]
    docker = [str(p) for p in sorted((REPO_ROOT / "docker").glob("Dockerfile.*"))]
    ignore = [a for code in HADOLINT_IGNORE for a in ("--ignore", code)]
    return {
        "hadolint": [_tool("hadolint"), *ignore, *docker],
        "ruff": [_tool("ruff"), "check", "src", "tests", "images"],
        "shellcheck": [_tool("shellcheck"), *shell],
    }


def run_all() -> list[str]:
    failed = []
    for name, cmd in commands().items():
        if subprocess.run(cmd, cwd=REPO_ROOT).returncode != 0:
            failed.append(name)
    return failed
