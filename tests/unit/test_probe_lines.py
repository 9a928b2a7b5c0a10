"""mhc-probe's one-line verdicts: a failed run is never "via <kernel>", a sandbox run names its stand-in, and a GPU
kernel found by tilelang's own cache layout is counted by the arch its offload bundle names."""

from __future__ import annotations

import struct

from rocm_images.image import code_objects, probe

RUN = {"device": "cpu", "tokens": 256, "pre_post": {"4096": {}, "7168": {}}}


def test_a_failed_run_says_failed_never_via():
    line = probe.what_ran({**RUN, "ok": False, "error": "RuntimeError: no driver"}, {"pre": "tilelang"}, False)
    assert line.startswith("mhc pre+post FAILED on cpu (selected tilelang, hidden 4096/7168): RuntimeError")
    assert "via" not in line


def test_a_sandbox_run_names_its_stand_in():
    line = probe.what_ran({**RUN, "ok": True}, {"pre": "aiter"}, True)
    assert line.startswith("mhc pre+post via aiter (aiter's own wrapper over a SANDBOX STAND-IN module_mhc.so")
    assert "not its GPU code objects; not a ROCm kernel" in line


def _bundle(*ids: str) -> bytes:
    body = code_objects.MAGIC + struct.pack("<Q", len(ids))
    for i in ids:
        body += struct.pack("<QQQ", 0, 0, len(i)) + i.encode()
    return b"\x7fELF" + b"\0" * 60 + body


def test_code_objects_of_a_tilelang_cache_entry_are_counted_by_arch(tmp_path):
    kernel = tmp_path / "kernels" / "abc"
    kernel.mkdir(parents=True)
    (kernel / "executable.so").write_bytes(_bundle("host-x86_64-unknown-linux-gnu-",
                                                   "hipv4-amdgcn-amd-amdhsa--gfx950"))
    (kernel / "device_kernel.cu").write_text("extern \"C\" __global__ void k() {}")
    other = tmp_path / "kernels" / "def"
    other.mkdir()
    (other / "executable.so").write_bytes(_bundle("hipv4-amdgcn-amd-amdhsa--gfx950"))
    assert probe._hip_code_objects([kernel]) == {"gfx950": 1}
    assert probe._hip_code_objects([kernel, other]) == {"gfx950": 2}


def _arch(kernels: int, objects: dict[str, int], ok: bool = True) -> dict:
    return {"kernels": kernels, "code_objects": objects, "calls": {"hc_head": {"ok": ok}}}


def test_a_tilelang_compile_counts_only_with_code_objects_of_its_arch():
    assert probe.compiled_ok({"gfx942": _arch(9, {"gfx942": 9}), "gfx950": _arch(9, {"gfx950": 9})})
    assert not probe.compiled_ok({"gfx942": _arch(9, {"gfx942": 9}), "gfx950": _arch(9, {"gfx942": 9})})  # wrong arch
    assert not probe.compiled_ok({"gfx942": _arch(9, {"gfx942": 8})})  # a kernel without its code object
    assert not probe.compiled_ok({"gfx942": _arch(0, {})})  # nothing compiled
    assert not probe.compiled_ok({"gfx942": _arch(9, {"gfx942": 9}, ok=False)})  # a call failed
    assert not probe.compiled_ok({})  # no arch
