"""mhc-probe: what the image really does for DeepSeek-V4 mHC, as one JSON object.

The selected path comes from the patched vLLM's own classes (MHCPreOp/MHCPostOp.rocm_impl_for,
use_tilelang_fused_mhc), never from a copy of their rules. Tilelang evidence: an import hook, a wrapper on
tilelang.compile / tilelang.cache.cached counting compile requests, its "begins to compile kernel" log lines
and the kernels/ entries of a fresh TILELANG_CACHE_DIR. With --run, one small mHC pre+post goes through the
selected path and is compared with vLLM's torch reference.
"""

from __future__ import annotations

import argparse
import importlib.abc
import json
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from .build_info import INFO_FILE, aiter_module_mhc, module_mhc_facts

DSV4_HIDDEN = 7168  # DeepSeek-V4 hidden size (28 x 256: aiter-eligible)


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

        originals = {id(getattr(tilelang, "compile", None)), id(getattr(tilelang.cache, "cached", None))}

        def counting(fn):  # noqa: ANN001, ANN202
            def wrapper(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
                self.compile_requests += 1
                return fn(*args, **kwargs)

            return wrapper

        for mod in [m for n, m in list(sys.modules.items()) if n.startswith("tilelang") and m is not None]:
            for attr in ("compile", "cached"):
                fn = getattr(mod, attr, None)
                if fn is not None and id(fn) in originals:
                    setattr(mod, attr, counting(fn))

    def evidence(self) -> dict[str, Any]:
        kernels = [p for p in self.cache_dir.glob("*/kernels/*") if p.is_dir()]
        return {"imported": self.imported, "compile_requests": self.compile_requests,
                "kernels_compiled": len(kernels), "compile_log_lines": self.log.lines,
                "cache_dir": str(self.cache_dir)}


def _cpu_dispatch_if_no_gpu() -> bool:
    """vLLM registers its custom ops for the platform's dispatch key; with no GPU the tensors are CPU ones."""
    import torch
    from vllm.platforms import current_platform

    if torch.cuda.is_available():
        return False
    type(current_platform).dispatch_key = "CPU"
    return True


def select(hidden_size: int = DSV4_HIDDEN) -> dict[str, Any]:
    from vllm.config import VllmConfig, set_current_vllm_config
    from vllm.platforms import current_platform

    cpu = _cpu_dispatch_if_no_gpu()
    from vllm.model_executor.layers import mhc

    with set_current_vllm_config(VllmConfig()):
        pre, post = mhc.MHCPreOp(), mhc.MHCPostOp()
    rocm = current_platform.is_rocm()
    so = aiter_module_mhc() if _has("aiter") else None
    return {
        "platform": type(current_platform).__name__, "cpu_dispatch": cpu, "hidden_size": hidden_size,
        "pre": pre.rocm_impl_for(hidden_size) if rocm else "tilelang",
        "post": post.rocm_impl_for(hidden_size) if rocm else "tilelang",
        "fused_post_pre": mhc.use_tilelang_fused_mhc(),
        "module_mhc_path": str(so) if so and so.is_file() else None,
        "_ops": (pre, post),
    }


def _has(name: str) -> bool:
    from importlib.util import find_spec

    return find_spec(name) is not None


def run_once(pre: Any, post: Any, hidden: int = 256, tokens: int = 4, hc: int = 4) -> dict[str, Any]:
    """One small pre+post through the selected path, compared with vLLM's torch reference."""
    import torch
    from vllm.model_executor.kernels.mhc.torch import mhc_post_torch, mhc_pre_torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    g = torch.Generator().manual_seed(0)
    hc3 = 2 * hc + hc * hc
    residual = torch.randn(tokens, hc, hidden, generator=g).to(torch.bfloat16).to(device)
    fn = (torch.randn(hc3, hc * hidden, generator=g) * 0.02).to(device)
    scale, base = torch.ones(3, device=device), (torch.randn(hc3, generator=g) * 0.1).to(device)
    args = (residual, fn, scale, base, 1e-6, 1e-6, 1e-6, 2.0, 3)
    try:
        post_mix, comb, layer_input = pre(*args)
        x = layer_input
        out = post(x, residual, post_mix, comb)
    except Exception as e:  # noqa: BLE001 - reported, not hidden: e.g. tilelang cannot compile without a GPU
        return {"device": device, "ok": False, "error": f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"}
    ref_post, ref_comb, ref_in = mhc_pre_torch(*[a.cpu() if hasattr(a, "cpu") else a for a in args])
    ref_out = mhc_post_torch(ref_in, residual.cpu(), ref_post, ref_comb)
    return {"device": device, "ok": True, "shape": [tokens, hc, hidden],
            "max_abs_diff_vs_torch_reference": float((out.cpu().float() - ref_out.float()).abs().max())}


def probe(run: bool) -> dict[str, Any]:
    watch = TilelangWatch()
    sys.meta_path.insert(0, watch)
    aiter_log = _Capture(("import [module_mhc]", "start build [module_mhc]"))
    logging.getLogger("aiter").addHandler(aiter_log)
    import vllm.envs as envs

    info = json.loads(INFO_FILE.read_text()) if INFO_FILE.is_file() else {}
    labels = info.get("labels", {})
    result: dict[str, Any] = {
        "sandbox": labels.get("org.rocm-images.sandbox"),
        "profile": labels.get("org.rocm-images.profile"),
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
    pre, post = sel.pop("_ops")
    result["selected"] = sel
    if run:
        ran = run_once(pre, post)
        kernel = "aiter" if sel["pre"] == "aiter" else sel["pre"]
        if kernel == "aiter" and aiter.get("sandbox_standin"):
            kernel += " (SANDBOX STAND-IN module_mhc.so; CPU reference math, not a ROCm kernel)"
        ran["what_ran"] = f"mhc pre+post via {kernel} on {ran['device']}"
        result["run"] = ran
    result["tilelang"] = watch.evidence()
    result["aiter_log"] = aiter_log.lines
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="mhc-probe", description=__doc__)
    ap.add_argument("--run", action="store_true", help="execute one small mHC pre+post on the selected path")
    a = ap.parse_args(argv)
    try:
        out = probe(a.run)
    except (ValueError, RuntimeError) as e:  # knob errors from the patched vLLM
        print(json.dumps({"error": str(e)}))
        return 2
    print(json.dumps(out, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
