"""The build's load check (stages/build_info.py mhc_entry_points) on the real aiter: it loads module_mhc through
aiter's own loader, as aiter's first mHC call does, so a module that exists but cannot load or lacks an entry
point fails the build in one line instead of the first DeepSeek-V4 forward pass."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import aiter_host
import pytest

from rocm_images import REPO_ROOT

CHECK = "from rocm_images.stages import build_info; print(build_info.mhc_entry_points())"


def check(jit_dir: Path | None = None) -> str:
    env = aiter_host.env(None, (REPO_ROOT / "src",))
    if jit_dir is not None:  # aiter imports its modules from AITER_JIT_DIR instead of its package (core.py:577)
        env["AITER_JIT_DIR"] = str(jit_dir)
    proc = subprocess.run([sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip().splitlines()[-1]


@pytest.fixture
def jit_dir(tmp_path) -> Path:
    """An aiter JIT directory holding the CPU module_aiter_core, for a module_mhc of the test's making."""
    shutil.copy2(aiter_host.tree() / "aiter" / "jit" / "module_aiter_core.py", tmp_path)
    return tmp_path


def test_the_sandbox_module_loads_with_every_entry_point():
    assert check() == "None"


def test_a_module_with_an_undefined_symbol_fails_at_load(jit_dir):
    src = jit_dir / "broken.c"
    src.write_text("void aiter_symbol_missing_at_link(void);\n"
                   "void *PyInit_module_mhc(void) { aiter_symbol_missing_at_link(); return 0; }\n")
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(jit_dir / "module_mhc.so"), str(src)], check=True)
    out = check(jit_dir)
    assert out.startswith("aiter cannot load module_mhc: ImportError: ") and "undefined symbol" in out, out


def test_a_module_lacking_entry_points_is_named(jit_dir):
    (jit_dir / "module_mhc.py").write_text("def mhc_post(out, x, residual, post_layer_mix, comb_res_mix): ...\n")
    out = check(jit_dir)
    assert out.endswith("module_mhc.py lacks mhc_pre_gemm_sqrsum, mhc_pre_big_fuse"), out


def test_the_message_reaches_the_build_log_in_one_line(jit_dir, tmp_path):
    """build_info's exit: status 2, one `error:` line naming the load failure."""
    (jit_dir / "module_mhc.py").write_text("raise ImportError('libamdhip64.so: cannot open shared object file')\n")
    env = aiter_host.env(None, (REPO_ROOT / "src",))
    env.update(AITER_JIT_DIR=str(jit_dir))
    fake = tmp_path / "site" / "aiter" / "jit"
    fake.mkdir(parents=True)
    (fake / "module_mhc.so").write_bytes(b"\x7fELF" + b"\0" * 60)
    code = ("import sys; from rocm_images.stages import build_info as b; "
            f"b.aiter_module_mhc = lambda: __import__('pathlib').Path({str(fake / 'module_mhc.so')!r}); "
            f"b.INFO_FILE = __import__('pathlib').Path({str(tmp_path / 'info.json')!r}); "
            "sys.exit(b.main(['--layer', 'rocm_base']))")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.returncode == 2 and errors == [
        "error: aiter cannot load module_mhc: ImportError: libamdhip64.so: cannot open shared object file; the first "
        "mHC call would fail the same way: rebuild aiter against this image's torch and ROCm"], proc.stderr[-2000:]
    assert not (tmp_path / "info.json").exists()
    assert os.environ.get("AITER_JIT_DIR") is None  # nothing leaked into this process
