"""Build, verify and ship layered ROCm vLLM images."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


class UserError(RuntimeError):
    """A failure the user can fix; printed as one line, exit code 2."""
