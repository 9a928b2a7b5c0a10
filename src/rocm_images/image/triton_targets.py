"""vLLM's DeepSeek-V4 hc_head triton kernels, compiled for explicit AMD targets: what the probe does where no GPU
driver is present (vLLM then swaps triton for a placeholder and cannot launch them). A compiler needs no GPU;
running a kernel does.

The kernels are vLLM's own: the @triton.jit functions of vllm/model_executor/kernels/mhc/triton.py, taken from
that file as they are and compiled by the real triton with the arguments vLLM's launchers pass at DeepSeek-V4's
sizes (hc_head_reduce_triton_kernel and rmsnorm_nw there)."""

from __future__ import annotations

import ast
import importlib.util
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

WARP_SIZE = 64  # AMD Instinct wavefront
# EF_AMDGPU_MACH_* in the ELF header's e_flags (LLVM's ELF.h): the arch a code object was built for
ELF_MACH = {0x4C: "gfx942", 0x4F: "gfx950", 0x3F: "gfx90a"}
EM_AMDGPU = 224


def vllm_kernel_source() -> Path:
    spec = importlib.util.find_spec("vllm.model_executor.kernels.mhc.triton")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("vllm.model_executor.kernels.mhc.triton is not installed")
    return Path(spec.origin)


def jit_functions(text: str) -> list[ast.FunctionDef]:
    """The module-level functions of a source text decorated with triton's jit."""
    return [node for node in ast.parse(text).body
            if isinstance(node, ast.FunctionDef) and any("jit" in ast.unparse(d) for d in node.decorator_list)]


def load_kernels(source: Path, workdir: Path) -> ModuleType:
    """A module holding source's @triton.jit functions verbatim, with the real triton as `triton` and `tl`
    (vLLM's own module binds whatever vllm.triton_utils gives it: a placeholder without a driver)."""
    text = source.read_text()
    lines = text.splitlines()
    parts = ["import triton\nimport triton.language as tl\n"]
    for node in jit_functions(text):
        start = min(d.lineno for d in node.decorator_list)
        parts.append("\n".join(lines[start - 1:node.end_lineno]))
    path = workdir / "vllm_mhc_triton_kernels.py"
    path.write_text("\n\n\n".join(parts) + "\n")  # on disk: triton reads a kernel's source with inspect
    spec = importlib.util.spec_from_file_location("vllm_mhc_triton_kernels", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def hc_head_launches(hidden: int, hc_mult: int) -> list[tuple[str, dict[str, str], dict[str, int], int]]:
    """(kernel, signature, constexprs, num_warps) as vLLM's hc_head launches them: rmsnorm_nw over the flattened
    (T, hc_mult * hidden) bf16 input, then _hc_head_reduce_store_kernel with contiguous (T, hc, H) strides."""
    import triton  # noqa: PLC0415  (the real one, in the image)

    d = hc_mult * hidden
    rblock = triton.next_power_of_2(d)
    rms_sig = {"x_ptr": "*bf16", "out_ptr": "*bf16", "stride_row": "i32", "D": "i32", "eps": "fp32",
               "RBLOCK": "constexpr"}
    reduce_cx = {"hidden_size": hidden, "hc_mult": hc_mult, "pre_stride_t": hc_mult, "pre_stride_m": 1,
                 "x_stride_t": d, "x_stride_m": hidden, "x_stride_h": 1, "out_stride_t": hidden,
                 "out_stride_h": 1, "BLOCK_H": 1024}
    reduce_sig = {"pre_ptr": "*fp32", "x_ptr": "*bf16", "out_ptr": "*bf16"} | dict.fromkeys(reduce_cx, "constexpr")
    return [("_rmsnorm_nw_kernel", rms_sig, {"RBLOCK": rblock}, 1 if rblock <= 512 else (4 if rblock <= 4096 else 8)),
            ("_hc_head_reduce_store_kernel", reduce_sig, reduce_cx, 4)]


def elf_arch(code_object: bytes) -> str | None:
    """The arch an AMDGPU ELF code object says it is for (e_machine, e_flags), or None if it is not one."""
    if code_object[:4] != b"\x7fELF" or len(code_object) < 52:
        return None
    if int.from_bytes(code_object[18:20], "little") != EM_AMDGPU:
        return None
    flags = int.from_bytes(code_object[48:52], "little")  # ELF64 e_flags
    return ELF_MACH.get(flags & 0xFF, f"mach 0x{flags & 0xFF:x}")


def compile_hc_head(archs: list[str], hidden_sizes: tuple[int, ...], hc_mult: int) -> dict[str, Any]:
    """Per arch: every hc_head kernel at every hidden size, compiled, with its code object's size and ELF arch."""
    import triton  # noqa: PLC0415
    from triton.backends.compiler import GPUTarget  # noqa: PLC0415
    from triton.compiler import ASTSource  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="hc-head-triton-") as work:
        kernels = load_kernels(vllm_kernel_source(), Path(work))
        out: dict[str, Any] = {}
        for arch in archs:
            compiled = []
            for hidden in hidden_sizes:
                for name, signature, constexprs, warps in hc_head_launches(hidden, hc_mult):
                    entry: dict[str, Any] = {"kernel": name, "hidden": hidden}
                    try:
                        k = triton.compile(ASTSource(getattr(kernels, name), signature, constexprs),
                                           target=GPUTarget("hip", arch, WARP_SIZE), options={"num_warps": warps})
                        hsaco = k.asm["hsaco"]
                        entry.update(code_object_bytes=len(hsaco), elf_arch=elf_arch(hsaco))
                    except Exception as e:  # noqa: BLE001  (reported per kernel, in one line)
                        entry["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}"
                    compiled.append(entry)
            out[arch] = {"kernels": compiled,
                         "ok": all(e.get("elf_arch") == arch for e in compiled)}
        return out
