"""The pieces of the probe's no-GPU hc_head compile that run without triton: vLLM's kernels taken verbatim from its
source, and the arch read back from a code object's ELF header."""

from __future__ import annotations

import ast
import struct

import pytest

from rocm_images.host import graph
from rocm_images.image import triton_targets


def elf(machine: int, flags: int) -> bytes:
    header = bytearray(64)
    header[:4] = b"\x7fELF"
    header[18:20] = struct.pack("<H", machine)
    header[48:52] = struct.pack("<I", flags)
    return bytes(header)


@pytest.mark.parametrize("flags,arch", [(0x4C, "gfx942"), (0x4F, "gfx950"), (0x14C, "gfx942"), (0x51, "mach 0x51")])
def test_elf_arch_reads_the_amdgpu_mach(flags, arch):
    assert triton_targets.elf_arch(elf(triton_targets.EM_AMDGPU, flags)) == arch


def test_elf_arch_refuses_what_is_no_amdgpu_code_object():
    assert triton_targets.elf_arch(elf(62, 0x4C)) is None  # x86-64
    assert triton_targets.elf_arch(b"not an elf") is None


def test_the_kernels_are_vllm_s_own_source(pin, tmp_path, monkeypatch):
    """Every @triton.jit function of vLLM's file, verbatim, under the real triton's names (a stub module here)."""
    import sys
    import types

    fake = types.ModuleType("triton")
    fake.jit = lambda fn: fn
    fake.language = types.ModuleType("triton.language")
    fake.language.constexpr = object
    monkeypatch.setitem(sys.modules, "triton", fake)
    monkeypatch.setitem(sys.modules, "triton.language", fake.language)
    source = graph.vllm_source(pin) / "vllm" / "model_executor" / "kernels" / "mhc" / "triton.py"
    text = source.read_text()
    module = triton_targets.load_kernels(source, tmp_path)
    jitted = triton_targets.jit_functions(text)
    assert [n.name for n in jitted] == ["_rmsnorm_nw_kernel", "_hc_head_reduce_store_kernel"]
    written = (tmp_path / "vllm_mhc_triton_kernels.py").read_text()
    for node in jitted:
        assert callable(getattr(module, node.name))
        assert ast.get_source_segment(text, node) in written
