"""The sandbox's compiler root (Debian's ROCm 7.2 from a newer suite, relocated under /opt/rocm-compiler) runs on the
sandbox OS only because every ELF file in it loads the root's own libraries: executables through the root's loader
and a DT_RPATH, libraries through a DT_RPATH too (a DT_RUNPATH would let the older OS's libraries in). Built here by
bake alone, and asserted in the tests, so a broken relocation (its build fails) is a failing test, not an error."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from rocm_images import REPO_ROOT
from rocm_images.host import graph, sandbox_base
from rocm_images.stages import pins

pytestmark = pytest.mark.engine

ROOT = "/opt/rocm-compiler"
# one line per ELF file: "<path> interp=<loader or ->" then its dynamic entries that carry a search path
SCAN = r"""
cd /opt/rocm-compiler/usr
for f in bin/* lib/llvm-*/bin/* $(find lib -type f -name '*.so*'); do
  [ -L "$f" ] || [ ! -f "$f" ] && continue
  head -c 4 "$f" | grep -q ELF || continue
  interp=$(readelf -l "$f" 2>/dev/null | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
  paths=$(readelf -d "$f" 2>/dev/null | sed -n 's/.*(\(RPATH\|RUNPATH\)).*: \[\(.*\)\]/\1=\2/p' | tr '\n' ' ')
  echo "$f interp=${interp:--} $paths"
done
"""


@pytest.fixture(scope="module")
def compiler_root(tmp_path_factory) -> Iterator[tuple[subprocess.CompletedProcess[str], Path]]:
    """bake's run and the root it exported; the tests assert on the run (the stage runs hipcc --version itself)."""
    pin = pins.load()
    sandbox_base.ensure(pin)
    sandbox_base.ensure(pin, compiler=True)
    dest = tmp_path_factory.mktemp("compiler")
    env = graph.environment("sandbox", "compilertest")
    cmd = graph.bake_cmd("sandbox", "--progress=plain", "--set", f"sandbox-compiler.output=type=local,dest={dest}",
                         *graph.with_contexts("sandbox", ["sandbox-compiler"], env))
    yield subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=3600), dest
    shutil.rmtree(dest, ignore_errors=True)  # 0.9 GB


def _built(compiler_root) -> Path:
    proc, dest = compiler_root
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return dest


def _in_sandbox_os(root: Path, script: str) -> subprocess.CompletedProcess[str]:
    base = sandbox_base.image_ref(pins.load())
    return subprocess.run(["docker", "run", "--rm", "--network=none", "-v", f"{root}{ROOT}:{ROOT}:ro",
                           "-v", f"{root}/opt/rocm:/opt/rocm:ro", base, "sh", "-c", script],
                          capture_output=True, text=True, timeout=600)


def test_every_elf_file_of_the_root_loads_the_root_s_libraries(compiler_root):
    proc = _in_sandbox_os(_built(compiler_root), SCAN)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [line.split() for line in proc.stdout.splitlines()]
    # what relocate patches: the dynamic executables of the bin/ dirs (libc.so.6 names an interpreter too)
    executables = [r for r in rows if "/bin/" in f"/{r[0]}" and r[1] != "interp=-"]
    assert len(executables) > 50 and any(r[0].endswith("/bin/clang") for r in executables), proc.stdout[-2000:]
    loader = f"interp={ROOT}/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
    assert [r[0] for r in executables if r[1] != loader] == []
    assert [r[0] for r in executables if not any(p.startswith(f"RPATH={ROOT}/") for p in r[2:])] == []
    assert [r[0] for r in rows if any(p.startswith("RUNPATH=") for p in r[2:])] == []
    outside = [r[0] for r in rows for p in r[2:] for d in p.split("=", 1)[1].split(":") if not d.startswith(ROOT)]
    assert outside == []


def test_hipcc_runs_on_the_sandbox_os(compiler_root):
    proc = _in_sandbox_os(_built(compiler_root), "/opt/rocm/bin/hipcc --version")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "HIP version: 7.2" in proc.stdout and "clang version 22" in proc.stdout, proc.stdout
