"""hadolint, ruff and shellcheck are clean."""

import subprocess

import pytest

from rocm_images import REPO_ROOT
from rocm_images.host import lint


@pytest.mark.parametrize("tool", ["hadolint", "ruff", "shellcheck"])
def test_clean(tool):
    proc = subprocess.run(lint.commands()[tool], cwd=REPO_ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
