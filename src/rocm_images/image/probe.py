"""mhc-probe: what the image really does for DeepSeek-V4 mHC, as one JSON object.

The selected path comes from the patched vLLM's own classes (MHCPreOp/MHCPostOp.rocm_impl_for,
use_tilelang_fused_mhc), never from a copy of their rules. Tilelang evidence: an import hook, a wrapper on
tilelang.cache.cached (every compile request passes it exactly once), its "begins to compile kernel" log lines
and the kernels/ entries of a fresh TILELANG_CACHE_DIR. With --run, mHC pre+post at DeepSeek-V4's sizes go
through the selected path and are compared with vLLM's torch reference; hc_head and the fused post+pre op are
called too, and the kernel op each one reached is recorded. Where no GPU driver is present, the GPU kernels the
selected path reaches are compiled for every GPU_ARCHS arch with an explicit target instead of run: hc_head's triton
kernels on the default path, and with VLLM_ROCM_USE_TILELANG_MHC=1 every tilelang kernel of pre, post, fused
post+pre and hc_head.

The JSON goes to stdout alone: everything else the libraries print is sent to stderr while the probe runs.
"""

from __future__ import annotations

import argparse
import importlib.abc
import json
import logging
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .aiter_facts import INFO_FILE, aiter_module_mhc, module_mhc_facts

DSV4_HIDDEN_SIZES = (4096, 7168)  # DeepSeek-V4's hidden sizes (both accepted by aiter's mHC kernels)
DSV4_HIDDEN = DSV4_HIDDEN_SIZES[-1]
HC_MULT = 4  # DeepSeek-V4's hyper-connection streams (the only hc_mult aiter's kernels take)
RUN_TOKENS = 256  # enough to exercise the kernels' multi-block paths, cheap on a CPU
DECODE_TOKENS = 4  # a decode batch: vLLM's fused post+pre takes its small-batch kernel (mhc_fused) at <= 16 tokens


class _Capture(logging.Handler):
    def __init__(self, needles: tuple[str, ...]) -> None:
        super().__init__(logging.DEBUG)
        self.needles, self.lines = needles, []

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if any(n in msg for n in self.needles):
            self.lines.append(f"[{record.name}] {msg}")


class TilelangWatch(importlib.abc.MetaPathFinder):
    """Records whether tilelang is imported and wraps its compile entry points once it is."""

    def __init__(self) -> None:
        self.imported = False
        self.compile_requests = 0
        self.cache_dir = Path(tempfile.mkdtemp(prefix="mhc-probe-tilelang-"))
        os.environ["TILELANG_CACHE_DIR"] = str(self.cache_dir)  # fresh: counts only what this run compiles
        self.log = _Capture(("begins to compile kernel",))
        logging.getLogger("tilelang").addHandler(self.log)

    def find_spec(self, name, path, target=None):  # noqa: ANN001
        if name != "tilelang" or self.imported:
            return None
        sys.meta_path.remove(self)  # find_spec alone (has_tilelang) is not an import
        try:
            import importlib.util

            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec and spec.loader:
            orig_exec = spec.loader.exec_module

            def exec_module(module, _orig=orig_exec):  # noqa: ANN001
                self.imported = True
                _orig(module)
                self._wrap()

            spec.loader.exec_module = exec_module
        return spec

    def _wrap(self) -> None:
        import tilelang
        import tilelang.cache

        # the funnel only: tilelang.compile and JITImpl.compile both end in cached, so one request counts once
        originals = {id(getattr(tilelang.cache, "cached", None))}

        def counting(fn):  # noqa: ANN001, ANN202
            def wrapper(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
                self.compile_requests += 1
                return fn(*args, **kwargs)

            return wrapper

        for mod in [m for n, m in list(sys.modules.items()) if n.startswith("tilelang") and m is not None]:
            fn = getattr(mod, "cached", None)
            if fn is not None and id(fn) in originals:
                mod.cached = counting(fn)

    def kernels(self) -> list[Path]:
        return [p for p in self.cache_dir.glob("*/kernels/*") if p.is_dir()]

    def evidence(self) -> dict[str, Any]:
        return {"imported": self.imported, "compile_requests": self.compile_requests,
                "kernels_compiled": len(self.kernels()), "compile_log_lines": self.log.lines,
                "cache_dir": str(self.cache_dir)}


def _cpu_dispatch_if_no_gpu() -> bool:
    """vLLM registers its custom ops for the platform's dispatch key; with no GPU the tensors are CPU ones."""
    import torch
    from vllm.platforms import current_platform

    if torch.cuda.is_available():
        return False
    type(current_platform).dispatch_key = "CPU"
    return True


def kernel_ops(fn: Any, not_run: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Run fn; the vLLM kernel ops (torch.ops.vllm.*) it reached, seen through torch's own dispatcher hook, and
    whether it finished. Ops in not_run (in-place ops that cannot run here, e.g. a GPU kernel with no driver) are
    recorded as reached but not executed."""
    from torch.utils._python_dispatch import TorchDispatchMode

    called: list[str] = []

    class Record(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
            if func.name().startswith("vllm::"):
                called.append(func.name().removeprefix("vllm::"))
                if called[-1] in not_run:
                    return None
            return func(*args, **(kwargs or {}))

    try:
        with Record():
            fn()
        out: dict[str, Any] = {"ok": True}
    except Exception as e:  # noqa: BLE001 - reported, not hidden (e.g. a GPU kernel on a CPU-only host)
        out = {"ok": False, "error": f"{type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}"}
    return {"ops": called, **out}


def select(hidden_size: int = DSV4_HIDDEN) -> dict[str, Any]:
    from vllm.config import VllmConfig, set_current_vllm_config
    from vllm.platforms import current_platform

    cpu = _cpu_dispatch_if_no_gpu()
    from vllm.model_executor.layers import mhc

    with set_current_vllm_config(VllmConfig()):
        ops = mhc.MHCPreOp(), mhc.MHCPostOp(), mhc.HCHeadOp(), mhc.MHCFusedPostPreOp()
    pre, post = ops[:2]
    rocm = current_platform.is_rocm()
    so = aiter_module_mhc() if _has("aiter") else None
    return {
        "platform": type(current_platform).__name__, "cpu_dispatch": cpu, "hidden_size": hidden_size,
        "pre": pre.rocm_impl_for(hidden_size, HC_MULT) if rocm else "not ROCm (CUDA uses tilelang)",
        "post": post.rocm_impl_for(hidden_size, HC_MULT) if rocm else "not ROCm (CUDA uses tilelang)",
        "fused_post_pre": mhc.use_tilelang_fused_mhc(),
        "module_mhc_path": str(so) if so and so.is_file() else None,
        "_ops": ops,
    }


def _has(name: str) -> bool:
    from importlib.util import find_spec

    return find_spec(name) is not None


def _inputs(hidden: int, tokens: int, device: str) -> tuple:
    import torch

    g = torch.Generator().manual_seed(hidden)
    hc3 = 2 * HC_MULT + HC_MULT * HC_MULT
    residual = torch.randn(tokens, HC_MULT, hidden, generator=g).to(torch.bfloat16).to(device)
    fn = (torch.randn(hc3, HC_MULT * hidden, generator=g) * 0.02).to(device)
    scale, base = torch.ones(3, device=device), (torch.randn(hc3, generator=g) * 0.1).to(device)
    return residual, fn, scale, base, 1e-6, 1e-6, 1e-6, 2.0, 3


def _gpu_driver() -> bool:
    """Whether vLLM found a triton driver (without one it swaps triton for a placeholder that cannot launch)."""
    from vllm.triton_utils import HAS_TRITON

    return bool(HAS_TRITON)


def hc_head_without_gpu(ran: dict[str, Any], archs: list[str]) -> dict[str, Any]:
    """hc_head where its triton kernels cannot launch: vLLM's own kernels compiled for every arch instead."""
    from .triton_targets import compile_hc_head

    compiled = compile_hc_head(archs, DSV4_HIDDEN_SIZES, HC_MULT)
    ok = ran["ok"] and bool(compiled) and all(c["ok"] for c in compiled.values())
    note = (f"hc_head: no GPU driver, so vLLM's triton kernels were compiled for {', '.join(archs) or 'no arch'}"
            f" ({'ok' if ok else 'FAILED'}), not run: running a kernel needs a GPU")
    return {**ran, "ok": ok, "ran": False, "compiled": compiled, "note": note}


def run_once(ops: tuple, tokens: int = RUN_TOKENS, archs: list[str] | None = None) -> dict[str, Any]:
    """pre+post at each DeepSeek-V4 hidden size through the selected path, against vLLM's torch reference; then
    hc_head (compiled for `archs` instead of run where no GPU driver is present) and the fused post+pre op once
    each."""
    import torch
    from vllm.model_executor.kernels.mhc.torch import mhc_post_torch, mhc_pre_torch

    pre, post, hc_head, fused = ops
    device = "cuda" if torch.cuda.is_available() else "cpu"
    result: dict[str, Any] = {"device": device, "tokens": tokens, "hc_mult": HC_MULT, "pre_post": {}}
    worst = 0.0
    for hidden in DSV4_HIDDEN_SIZES:
        args = _inputs(hidden, tokens, device)
        cpu_args = [a.cpu() if hasattr(a, "cpu") else a for a in args]
        ref_post, ref_comb, ref_in = mhc_pre_torch(*cpu_args)
        box: dict[str, Any] = {}
        ran_pre = kernel_ops(lambda args=args, box=box: box.update(pre=pre(*args)))
        # post runs whatever pre did (on the reference's inputs if pre failed), so its dispatch is seen too
        post_mix, comb, layer_input = box.get("pre") or (t.to(device) for t in (ref_post, ref_comb, ref_in))
        ran_post = kernel_ops(
            lambda args=args, box=box, p=post_mix, c=comb, x=layer_input: box.update(out=post(x, args[0], p, c)))
        ran = {"ops": ran_pre["ops"] + ran_post["ops"], "ok": ran_pre["ok"] and ran_post["ok"]}
        if not ran["ok"]:
            ran["error"] = ran_pre.get("error") or ran_post["error"]
        else:
            ref_out = mhc_post_torch(ref_in, cpu_args[0], ref_post, ref_comb)
            ran["max_abs_diff_vs_torch_reference"] = float((box["out"].cpu().float() - ref_out.float()).abs().max())
            worst = max(worst, ran["max_abs_diff_vs_torch_reference"])
        result["pre_post"][str(hidden)] = ran
    result["ok"] = all(r["ok"] for r in result["pre_post"].values())
    if result["ok"]:
        result["max_abs_diff_vs_torch_reference"] = worst
    else:
        result["error"] = next(r["error"] for r in result["pre_post"].values() if not r["ok"])
    driver = _gpu_driver()
    head, fused_call = _head_and_fused(ops, tokens, device)
    result["hc_head"] = kernel_ops(head, not_run=frozenset() if driver else frozenset({"hc_head_triton"}))
    if not driver and result["hc_head"]["ops"] == ["hc_head_triton"]:
        result["hc_head"] = hc_head_without_gpu(result["hc_head"], archs or [])
    result["fused_post_pre"] = kernel_ops(fused_call)
    return result


def _head_and_fused(ops: tuple, tokens: int, device: str) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """hc_head and the fused post+pre op, each called once at DeepSeek-V4's size (post mix of ones, identity
    combination)."""
    import torch

    hc_head, fused = ops[2:]
    residual, fn, scale, base, *_ = _inputs(DSV4_HIDDEN, tokens, device)
    x = residual[:, 0].contiguous()
    post_mix = torch.ones(tokens, HC_MULT, 1, device=device)
    comb = torch.eye(HC_MULT, device=device).expand(tokens, HC_MULT, HC_MULT).contiguous()
    return (lambda: hc_head(residual, fn[:HC_MULT], scale[:1], base[:HC_MULT], 1e-6, 1e-6),
            lambda: fused(x, residual, post_mix, comb, fn, scale, base, 1e-6, 1e-6, 1e-6, 2.0, 3))


def _hip_code_objects(roots: list[Path]) -> dict[str, int]:
    """The GPU code objects in the files under roots (a tilelang kernel's cache entry keeps them in the offload
    bundle of its executable.so), counted by arch as the build's module_mhc check reads them."""
    from . import code_objects

    found: dict[str, int] = {}
    for f in (p for root in roots for p in root.rglob("*") if p.is_file()):
        for arch in code_objects.archs(f.read_bytes(), str(f)):
            found[arch] = found.get(arch, 0) + 1
    return found


def compiled_ok(per_arch: dict[str, Any]) -> bool:
    """Every arch compiled kernels, each with a code object of that arch and no other, and every call got through."""
    return bool(per_arch) and all(
        a["kernels"] and a["code_objects"].get(arch) == a["kernels"] and set(a["code_objects"]) == {arch}
        and all(c["ok"] for c in a["calls"].values()) for arch, a in per_arch.items())


def tilelang_without_gpu(ops: tuple, archs: list[str], watch: TilelangWatch) -> dict[str, Any]:
    """The opted-in tilelang path where its kernels cannot launch: every kernel vLLM's tilelang ops reach for pre,
    post (at each DeepSeek-V4 hidden size), fused post+pre (prefill and decode) and hc_head, compiled by tilelang
    for each arch (an explicit HIP target, TILELANG_TARGET) and not run. Compiles are counted per arch from
    tilelang's own log lines and the code objects of a fresh cache directory."""
    from tilelang.jit import JITImpl

    pre, post = ops[:2]

    def pre_post(args: tuple) -> None:
        post_mix, comb, layer_input = pre(*args)  # outputs allocated, never written: only their shapes matter
        post(layer_input, args[0], post_mix, comb)

    calls: dict[str, Callable[[], Any]] = {
        f"pre_post_{hidden}": lambda h=hidden: pre_post(_inputs(h, RUN_TOKENS, "cpu")) for hidden in DSV4_HIDDEN_SIZES}
    calls["hc_head"], calls["fused_post_pre"] = _head_and_fused(ops, RUN_TOKENS, "cpu")
    calls["fused_post_pre_decode"] = _head_and_fused(ops, DECODE_TOKENS, "cpu")[1]
    launch, target = JITImpl.__call__, os.environ.get("TILELANG_TARGET")

    def compile_only(self: Any, *args: Any, **kwargs: Any) -> None:
        self.compile(*args, **kwargs)  # through tilelang's cache; the kernel is not launched

    per_arch: dict[str, Any] = {}
    JITImpl.__call__ = compile_only
    try:
        for arch in archs:
            os.environ["TILELANG_TARGET"] = json.dumps({"kind": "hip", "mcpu": arch})
            lines, kernels = len(watch.log.lines), set(watch.kernels())
            reached = {name: kernel_ops(call) for name, call in calls.items()}
            new = sorted(set(watch.kernels()) - kernels)
            per_arch[arch] = {"compile_log_lines": len(watch.log.lines) - lines, "kernels": len(new),
                              "code_objects": _hip_code_objects(new), "calls": reached}
    finally:
        JITImpl.__call__ = launch
        if target is None:
            os.environ.pop("TILELANG_TARGET", None)
        else:
            os.environ["TILELANG_TARGET"] = target
    ok = compiled_ok(per_arch)
    note = (f"tilelang: no GPU driver, so vLLM's tilelang kernels were compiled for {', '.join(archs) or 'no arch'}"
            f" ({'ok' if ok else 'FAILED'}), not run: running a kernel needs a GPU")
    return {"ok": ok, "ran": False, "compiled": per_arch, "note": note}


def what_ran(run: dict[str, Any], sel: dict[str, Any], standin: bool) -> str:
    """One line: the path, where, and whether it worked; never "via X" for a run that failed."""
    kernel = sel["pre"]
    if kernel == "aiter" and standin:
        kernel += (" (aiter's own wrapper over a SANDBOX STAND-IN module_mhc.so: its CPU host code ran, not its GPU"
                   " code objects; not a ROCm kernel)")
    sizes = "/".join(run["pre_post"])
    if not run["ok"]:
        return f"mhc pre+post FAILED on {run['device']} (selected {kernel}, hidden {sizes}): {run['error']}"
    return f"mhc pre+post via {kernel} on {run['device']} (hidden {sizes}, {run['tokens']} tokens)"


def _aiter_wrapper_facts(gemm_calls: list[dict[str, int]]) -> dict[str, Any]:
    """What aiter's own code says: mhc_pre's signature, and (recorded in gemm_calls from each call on) the split-k
    and tile-k its wrapper picks before it calls mhc_pre_gemm_sqrsum (aiter/ops/mhc.py)."""
    import inspect

    import torch
    from aiter.ops import mhc as aiter_mhc

    inner = aiter_mhc.mhc_pre_gemm_sqrsum

    def recording(out: Any, sqrsum: Any, x: Any, fn: Any, tile_k: int = 128) -> Any:
        gemm_calls.append({"tokens": int(x.shape[0]), "hidden": int(x.shape[-1]),
                           "split_k": int(out.shape[0]) if out.dim() > 2 else 1, "tile_k": int(tile_k)})
        return inner(out, sqrsum, x, fn, tile_k)

    aiter_mhc.mhc_pre_gemm_sqrsum = recording  # mhc_pre looks the name up in its module at each call
    # aiter registers mhc_pre as the torch op aiter::mhc_pre, its schema inferred from the function's signature
    # (aiter/jit/utils/torch_guard.py); the Python name is then a (*args, **kwargs) wrapper
    op = getattr(getattr(torch.ops, "aiter", None), "mhc_pre", None)
    params = ([a.name for a in op.default._schema.arguments] if op is not None
              else list(inspect.signature(aiter_mhc.mhc_pre).parameters))
    return {"mhc_pre_params": params, "gemm_calls": gemm_calls}


def probe(run: bool) -> dict[str, Any]:
    watch = TilelangWatch()
    sys.meta_path.insert(0, watch)
    if _has("aiter"):  # aiter configures its logger (INFO, its own handler) at import only if it has no handler
        import aiter  # noqa: F401
    aiter_log = _Capture(("import [module_mhc]", "start build [module_mhc]"))
    logging.getLogger("aiter").addHandler(aiter_log)
    import vllm.logger  # noqa: F401 - configures vLLM's logging, which drops handlers on its loggers: attach after

    vllm_log = _Capture(("DeepSeek-V4 mHC on ROCm",))  # the patched vLLM's own start-up line
    logging.getLogger("vllm.model_executor.layers.mhc").addHandler(vllm_log)
    import vllm.envs as envs

    info = json.loads(INFO_FILE.read_text()) if INFO_FILE.is_file() else {}
    labels, names = info.get("labels", {}), info.get("label_names", {})
    result: dict[str, Any] = {
        "sandbox": labels.get(names.get("sandbox", "")),
        "profile": labels.get(names.get("profile", "")),
        "knobs": {"VLLM_ROCM_USE_AITER": envs.VLLM_ROCM_USE_AITER,
                  "VLLM_ROCM_USE_TILELANG_MHC": envs.VLLM_ROCM_USE_TILELANG_MHC},
    }
    aiter: dict[str, Any] = {"installed": _has("aiter")}
    if aiter["installed"]:
        from importlib.metadata import version

        aiter["version"] = version("amd-aiter")
        aiter["sandbox_standin"] = "+sandbox.standin" in aiter["version"]
        aiter["guard"] = info.get("aiter_guard")
        so = aiter_module_mhc()
        aiter["module_mhc"] = module_mhc_facts(so) if so.is_file() else None
    result["aiter"] = aiter
    sel = select()
    ops = sel.pop("_ops")
    result["selected"] = sel
    if aiter["installed"] and sel["pre"] == "aiter":
        aiter["wrapper"] = _aiter_wrapper_facts([])
    if run:
        import torch

        archs = [a for a in (labels.get(names.get("gpu_archs", "")) or "").split(";") if a]
        if sel["pre"] == "tilelang" and not torch.cuda.is_available():
            compiled = tilelang_without_gpu(ops, archs, watch)
            ran = {"device": "cpu", "ok": compiled["ok"], "ran": False, "tilelang": compiled,
                   "what_ran": compiled["note"]}
        else:
            ran = run_once(ops, archs=archs)
            ran["what_ran"] = what_ran(ran, sel, bool(aiter.get("sandbox_standin")))
        result["run"] = ran
    result["tilelang"] = watch.evidence()
    result["aiter_log"] = aiter_log.lines
    result["vllm_log"] = vllm_log.lines
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="mhc-probe", description=__doc__)
    ap.add_argument("--run", action="store_true", help="execute one small mHC pre+post on the selected path")
    a = ap.parse_args(argv)
    os.environ.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")
    sys.stdout.flush()
    json_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # whatever the libraries print goes to stderr; stdout carries the JSON alone
    code = 0
    try:
        out: dict[str, Any] = probe(a.run)
    except (ValueError, RuntimeError) as e:  # knob errors from the patched vLLM
        out, code = {"error": str(e)}, 2
    finally:
        sys.stdout.flush()
    json_out.write(json.dumps(out, indent=2, default=str) + "\n")
    json_out.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
