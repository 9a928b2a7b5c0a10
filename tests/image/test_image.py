"""The image under test, checked from outside (docker run / testinfra). Runs on sandbox images in CI and on
production images on AMD hosts (`make smoke IMAGE=...`). Every check here has a negative control that
must fail it (tests/controls/test_negative_controls.py)."""

from __future__ import annotations

import json
import subprocess

import pytest
from conftest import HAS_GPU, docker_run, probe

pytestmark = pytest.mark.engine


def test_module_mhc_is_an_elf_shared_object_where_aiter_loads_it(host, default_probe):
    so = default_probe["aiter"]["module_mhc"]
    assert so is not None, "aiter/jit/module_mhc.so missing"
    assert so["path"].endswith("/site-packages/aiter/jit/module_mhc.so")
    f = host.file(so["path"])
    assert f.exists and f.is_file
    assert "ELF" in host.check_output(f"file -b {so['path']}") and "shared object" in host.check_output(
        f"file -b {so['path']}")


def test_aiter_imports_the_prebuilt_module(default_probe):
    lines = default_probe["aiter_log"]
    assert any(line.startswith("[aiter] import [module_mhc] under ") and line.endswith("/module_mhc.so")
               for line in lines), lines
    assert not any("start build" in line for line in lines), lines


def test_default_knobs_select_aiter_and_compile_no_tilelang(default_probe):
    sel, tl, run = default_probe["selected"], default_probe["tilelang"], default_probe["run"]
    assert (sel["pre"], sel["post"], sel["fused_post_pre"]) == ("aiter", "aiter", False)
    # DeepSeek-V4's sizes, through aiter's entry points (shapes aiter's kernels accept, tokens in the hundreds)
    assert set(run["pre_post"]) == {"4096", "7168"} and run["tokens"] >= 100 and run["hc_mult"] == 4
    assert all(r["ops"] == ["mhc_pre_aiter", "mhc_post_aiter"] for r in run["pre_post"].values()), run["pre_post"]
    assert run["ok"] and run["max_abs_diff_vs_torch_reference"] < 0.05, run
    assert tl["imported"] is False and tl["compile_requests"] == 0 and tl["kernels_compiled"] == 0


def test_aiter_s_own_wrapper_ran_with_its_signature_and_split_k(default_probe, repo):
    """Facts from aiter's code, not ours: mhc_pre's real parameters (the contract's record of them), and the
    split-k / tile-k its wrapper picked for each DeepSeek-V4 size before it called mhc_pre_gemm_sqrsum."""
    contract = json.loads((repo / "images/rocm_base/aiter-mhc-contract.json").read_text())
    wrapper, run = default_probe["aiter"]["wrapper"], default_probe["run"]
    assert wrapper["mhc_pre_params"] == contract["entry_points"]["mhc_pre"]["params"]
    calls = wrapper["gemm_calls"]
    assert sorted({c["hidden"] for c in calls}) == [4096, 7168], calls
    for c in calls:
        assert c["tokens"] == run["tokens"] and c["tile_k"] in (64, 128) and 1 <= c["split_k"] <= 32, c
        assert (run["hc_mult"] * c["hidden"]) % (c["tile_k"] * c["split_k"]) == 0, c  # aiter's own rule


def test_aiter_kept_the_wheel_set_s_triton(host):
    """aiter's setup.py swaps triton unless AITER_USE_SYSTEM_TRITON=1: rocm_base's triton (recorded by its layer's
    build-info) is the one the wheel set pins (production: built from TRITON_REPO; sandbox: SANDBOX_TRITON_VERSION
    from PyPI)."""
    info = json.loads(host.file("/etc/rocm-images/build-info.json").content_string)
    pinned = dict(line.split("==", 1) for line in
                  host.file("/etc/rocm-images/constraints.txt").content_string.split() if "==" in line)
    assert "triton_in_rocm_base" in info and "triton" in pinned, (sorted(info), sorted(pinned))
    assert info["triton_in_rocm_base"] == pinned.get("triton"), (info["triton_in_rocm_base"], pinned.get("triton"))


def test_default_hc_head_uses_triton_and_the_fused_op_refuses(default_probe):
    run = default_probe["run"]
    assert run["hc_head"]["ops"] == ["hc_head_triton"], run["hc_head"]
    fused = run["fused_post_pre"]
    assert fused["ops"] == [] and not fused["ok"] and "opt-in on ROCm" in fused["error"], fused


def test_default_hc_head_triton_kernels_compile_for_each_target_arch(default_probe, role):
    """Without a GPU driver the probe compiles vLLM's own hc_head triton kernels for each GPU_ARCHS arch (a real
    AMDGPU code object per kernel and DeepSeek-V4 size, its ELF header naming the arch) and says it ran none;
    with one, they ran."""
    hc = default_probe["run"]["hc_head"]
    if hc.get("ran", True):
        assert hc["ok"], hc
        return
    archs = role["gpu_archs"].split(";")
    assert sorted(hc["compiled"]) == sorted(archs), hc
    launches = {(k, h) for k in ("_rmsnorm_nw_kernel", "_hc_head_reduce_store_kernel") for h in (4096, 7168)}
    for arch, got in hc["compiled"].items():
        assert {(k["kernel"], k["hidden"]) for k in got["kernels"]} == launches, got
        assert all(k.get("elf_arch") == arch and k["code_object_bytes"] > 0 for k in got["kernels"]), got
        assert got["ok"]
    assert hc["ok"] and hc["note"].endswith("(ok), not run: running a kernel needs a GPU"), hc
    assert "error" not in hc, hc  # the placeholder's AttributeError is gone: nothing launched
    assert default_probe["tilelang"]["kernels_compiled"] == 0  # and still no tilelang compile on the default path


def test_vllm_logs_its_mhc_path_once_at_start_up(default_probe):
    assert default_probe["vllm_log"] == [
        "[vllm.model_executor.layers.mhc] DeepSeek-V4 mHC on ROCm: pre/post=aiter (torch for shapes aiter rejects), "
        "hc_head=triton, fused post+pre=off (VLLM_ROCM_USE_AITER=1, VLLM_ROCM_USE_TILELANG_MHC=0)"]


def test_tilelang_opt_in_compiles_vllm_s_kernels_for_each_target_arch(image_ref, role):
    """With VLLM_ROCM_USE_TILELANG_MHC=1 every mHC op goes to tilelang. Without a GPU, tilelang compiles each kernel
    those ops reach (pre and post at both DeepSeek-V4 hidden sizes, fused post+pre, hc_head) for every GPU_ARCHS
    arch: one "begins to compile" line and one AMDGPU code object of that arch per kernel, in a fresh cache."""
    p = probe(image_ref, {"VLLM_ROCM_USE_TILELANG_MHC": "1"})
    assert (p["selected"]["pre"], p["selected"]["post"], p["selected"]["fused_post_pre"]) == (
        "tilelang", "tilelang", True)
    assert not p["aiter_log"], "aiter module_mhc must not load when tilelang is opted in"
    run = p["run"]
    if run.get("ran", True):  # a GPU: the kernels ran (tests/image/test_image.py's GPU test checks their numbers)
        assert run["ok"] and p["tilelang"]["kernels_compiled"] >= 1, run
        return
    compiled = run["tilelang"]["compiled"]
    assert sorted(compiled) == sorted(role["gpu_archs"].split(";")), compiled
    for arch, got in compiled.items():
        ops = {name: call["ops"] for name, call in got["calls"].items()}
        assert ops == {"pre_post_4096": ["mhc_pre_tilelang", "mhc_post_tilelang"],
                       "pre_post_7168": ["mhc_pre_tilelang", "mhc_post_tilelang"],
                       "hc_head": ["hc_head_fused_kernel_tilelang"],
                       "fused_post_pre": ["mhc_fused_post_pre_tilelang"],
                       "fused_post_pre_decode": ["mhc_fused_post_pre_tilelang"]}, ops
        assert all(call["ok"] for call in got["calls"].values()), got["calls"]
        assert got["kernels"] >= 5 and got["compile_log_lines"] == got["kernels"], got
        assert got["code_objects"] == {arch: got["kernels"]}, got
    assert p["tilelang"]["kernels_compiled"] == sum(got["kernels"] for got in compiled.values())
    names = {line.split("`")[1] for line in p["tilelang"]["compile_log_lines"]}
    assert names == {"hc_prenorm_gemm_tilelang", "mhc_pre_big_fuse_tilelang", "mhc_post_tilelang",
                     "mhc_fused_tilelang", "hc_head_fuse_tilelang"}, names
    assert run["ok"] and run["what_ran"] == run["tilelang"]["note"], run
    assert run["what_ran"].endswith("(ok), not run: running a kernel needs a GPU"), run["what_ran"]
    assert "via tilelang" not in run["what_ran"]


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_GPU, reason="no /dev/kfd: running a tilelang kernel needs an AMD GPU")
def test_tilelang_opt_in_runs_its_kernels_on_gpu(image_ref):
    p = probe(image_ref, {"VLLM_ROCM_USE_TILELANG_MHC": "1"})
    assert p["run"]["ok"] and p["tilelang"]["kernels_compiled"] >= 1 and p["tilelang"]["compile_log_lines"]
    assert p["run"]["max_abs_diff_vs_torch_reference"] < 0.05, p["run"]
    assert p["run"]["what_ran"].startswith("mhc pre+post via tilelang on cuda"), p["run"]["what_ran"]


def test_hipcc_compiles_a_kernel_for_every_target_arch(host, role):
    """The hipcc on PATH (production: ROCm's; sandbox: Debian's ROCm 7.2 one in its relocated root, see
    docs/profiles.md) compiles a HIP kernel into code objects for every GPU_ARCHS arch, as tilelang calls it."""
    archs = role["gpu_archs"].split(";")
    kernel = 'extern "C" __global__ void axpy(float* y, const float* x, float a) { y[threadIdx.x] += a * x[0]; }'
    host.run_expect([0], f"printf '#include <hip/hip_runtime.h>\\n%s\\n' '{kernel}' > /tmp/k.hip")
    arch_flags = " ".join(f"--offload-arch={a}" for a in archs)
    out = host.run(f"hipcc --genco {arch_flags} /tmp/k.hip -o /tmp/k.co")
    assert out.rc == 0, out.stderr[-2000:]
    data = host.file("/tmp/k.co").content
    assert [a for a in archs if f"hipv4-amdgcn-amd-amdhsa--{a}".encode() in data] == archs


def test_aiter_off_uses_neither_aiter_nor_tilelang(image_ref):
    p = probe(image_ref, {"VLLM_ROCM_USE_AITER": "0"})
    assert (p["selected"]["pre"], p["selected"]["post"]) == ("native", "native")
    assert not p["aiter_log"] and p["tilelang"]["imported"] is False
    assert all(r["ops"] == [] and r["ok"] for r in p["run"]["pre_post"].values()), p["run"]  # torch, in-process
    assert "pre/post=torch, hc_head=triton, fused post+pre=off (VLLM_ROCM_USE_AITER=0" in p["vllm_log"][0]
    # and the entrypoint says which path that is, in one line
    (note,) = [line for line in p["_stderr"].splitlines() if line.startswith("[rocm-images]")]
    assert note.startswith("[rocm-images] WARNING: VLLM_ROCM_USE_AITER=0: DeepSeek-V4 mHC pre/post run on torch")


def test_labels_match_versions_env(role, pin):
    assert role["aiter_ref"] == pin["AITER_BRANCH"]
    assert role["aiter_commit"] == pin["AITER_COMMIT"]
    assert role["aiter_fix"] == pin["AITER_REQUIRED_FIX"]
    assert role["vllm_ref"] == pin["VLLM_REF"]
    assert role["tilelang"] == pin["TILELANG_VERSION"]
    assert ("sandbox" in role) == (role["profile"] == "sandbox")


def test_build_info_matches_labels_and_aiter_carries_the_fix(host, labels, role, label, default_probe, pin):
    info = json.loads(host.file("/etc/rocm-images/build-info.json").content_string)
    assert info["labels"] == labels and info["label_names"] == label  # what code in the image reads them by
    guard = default_probe["aiter"]["guard"]
    assert guard["ref"] == role["aiter_ref"] and guard["fix"] == pin["AITER_REQUIRED_FIX"]
    # both profiles build from a git clone of aiter: the fix is proved by ancestry, on the commit the labels name
    assert guard["fix_check"] == "git ancestry" and guard["commit"] == role["aiter_commit"], guard
    assert default_probe["aiter"]["version"].startswith(pin["AITER_BRANCH"].lstrip("v"))


def test_pinned_versions_import(host, pin, role):
    code = ("import importlib.metadata as m, torch, aiter, vllm, tilelang; "
            "print(m.version('vllm'), m.version('tilelang'), m.version('amd-aiter'), torch.__version__)")
    vllm_v, tl_v, aiter_v, torch_v = host.check_output(f"python -c \"{code}\"").split()
    assert vllm_v.startswith(pin["VLLM_VERSION"]) and tl_v == pin["TILELANG_VERSION"]
    assert aiter_v.startswith(pin["AITER_BRANCH"].lstrip("v"))
    if role["profile"] == "sandbox":
        assert torch_v.startswith(pin["SANDBOX_TORCH_VERSION"]) and aiter_v.endswith("+sandbox.standin")


def test_patched_vllm_is_installed(host):
    code = ("import vllm.envs as e; "
            "print(e.VLLM_ROCM_USE_TILELANG_MHC, 'VLLM_ROCM_USE_AITER_MHC' in e.environment_variables)")
    assert host.check_output(f"python -c \"{code}\"") == "False False"


@pytest.mark.parametrize("knob", ["VLLM_ROCM_USE_TILELANG_MHC", "VLLM_ROCM_USE_AITER"])
def test_entrypoint_rejects_a_bad_knob_in_one_line(image_ref, knob):
    proc = docker_run(image_ref, "true", env={knob: "maybe"})
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"[rocm-images] error: {knob}='maybe' is not a boolean; accepted values: "
                                   "1, 0, true, false (case-insensitive)")


def test_entrypoint_treats_empty_knobs_as_unset(image_ref):
    proc = docker_run(image_ref, "true", env={"VLLM_ROCM_USE_TILELANG_MHC": "", "VLLM_ROCM_USE_AITER_MHC": ""})
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


def test_entrypoint_reports_the_removed_knob(image_ref):
    proc = docker_run(image_ref, "true", env={"VLLM_ROCM_USE_AITER_MHC": "0"})
    assert proc.returncode != 0 and "VLLM_ROCM_USE_AITER_MHC was removed" in proc.stderr
    proc = docker_run(image_ref, "true", env={"VLLM_ROCM_USE_AITER_MHC": "1"})
    assert proc.returncode == 0 and "WARNING: VLLM_ROCM_USE_AITER_MHC was removed" in proc.stderr


def test_entrypoint_checks_without_importing_vllm(image_ref):
    """The knob check reads vLLM's envs.py alone: no vLLM package import before the container's command."""
    code = ("import sys; from rocm_images.image import knobs; "
            "print(knobs.main(), sorted(m for m in sys.modules if m.split('.')[0] == 'vllm'))")
    proc = docker_run(image_ref, "-c", code, entrypoint="python")
    assert proc.stdout.strip() == "0 []", proc.stdout + proc.stderr


def test_stand_ins_say_so(default_probe, role):
    if role["profile"] != "sandbox":
        pytest.skip("production image: no stand-ins")
    assert default_probe["aiter"]["sandbox_standin"] and "SANDBOX" in default_probe["sandbox"]
    assert "SANDBOX STAND-IN" in default_probe["run"]["what_ran"]


def test_pip_check_is_clean(host):
    """Every installed distribution's requirements are met (vLLM's own included), in both profiles."""
    out = host.run("python -m pip check")
    assert out.rc == 0, out.stdout + out.stderr


def test_torch_is_the_one_rocm_base_installed(host):
    """rocm_base pins the torch it installed as a constraint; vLLM's requirements must not have replaced it."""
    pinned = host.file("/etc/rocm-images/constraints.txt").content_string.split()
    torch_pin = next(p for p in pinned if p.startswith("torch=="))
    assert host.check_output("python -c \"import importlib.metadata as m; print('torch==' + m.version('torch'))\"") \
        == torch_pin


def test_vllm_serve_parses_its_arguments(image_ref):
    """The serving entrypoint's command line parses (vLLM's requirements are installed): --help exits 0."""
    proc = docker_run(image_ref, "vllm", "serve", "--help=all")
    assert proc.returncode == 0, proc.stderr[-2000:]
    for flag in ("--tensor-parallel-size", "--kv-cache-dtype", "--moe-backend", "--compilation-config"):
        assert flag in proc.stdout, flag


def test_the_wheel_set_is_installed_exactly_as_pinned(host):
    """rocm_base installed its wheel set from files (no index) and pinned each wheel; aiter was appended. Every
    pin is what is installed, in both profiles."""
    pinned = dict(line.split("==", 1) for line in
                  host.file("/etc/rocm-images/constraints.txt").content_string.split())
    assert {"torch", "amdsmi", "amd-aiter"} <= set(pinned)
    code = "import importlib.metadata as m, sys; print(' '.join(m.version(n) for n in sys.argv[1:]))"
    installed = host.check_output(f"python -c \"{code}\" {' '.join(pinned)}").split()
    assert dict(zip(pinned, installed, strict=True)) == pinned


def test_aiter_requirements_and_mhc_entry_points_import(host, role, pin):
    """aiter's own requirement list is installed and `aiter.ops.mhc` resolves; module_mhc.so carries a code object
    for every GPU_ARCHS arch in both profiles (the sandbox's: hipcc's build of aiter's mhc kernels)."""
    out = host.run("python -c 'import flydsl, pandas, einops; from aiter.ops.mhc import mhc_pre, mhc_post'")
    assert out.rc == 0, out.stderr
    archs = json.loads(host.file("/etc/rocm-images/build-info.json").content_string)["module_mhc"]["archs"]
    assert set(role["gpu_archs"].split(";")) <= set(archs), archs


def test_upstream_runtime_env_is_set(image_ref):
    """The runtime ENV upstream's final ROCm image sets (tests/unit/test_upstream_parity.py ties the list to it)."""
    out = subprocess.run(["docker", "image", "inspect", "--format", "{{json .Config.Env}}", image_ref],
                         capture_output=True, text=True, check=True)
    env = dict(e.split("=", 1) for e in json.loads(out.stdout))
    for name, value in {"HIP_FORCE_DEV_KERNARG": "1", "SAFETENSORS_FAST_GPU": "1", "HSA_ENABLE_IPC_MODE_LEGACY": "1",
                        "TOKENIZERS_PARALLELISM": "false", "HSA_NO_SCRATCH_RECLAIM": "1"}.items():
        assert env.get(name) == value, name
    assert env["LD_LIBRARY_PATH"].startswith("/opt/rocm/lib:") and env["PYTORCH_ROCM_ARCH"]


def test_no_wheel_file_is_left_in_the_image(host):
    """Wheels are installed from bind mounts or a temporary directory removed in the same RUN: no second copy.
    (/usr/share/python-wheels is the OS's ensurepip bundle, not ours.)"""
    out = host.run("find / -xdev -name '*.whl' -not -path '/proc/*' -not -path '/usr/share/python-wheels/*'")
    assert out.stdout.split() == []


def test_the_runtime_image_carries_only_in_image_code(host):
    """The image gets the probe, the knob check and the code-object reader, not the host tooling (CLI, engine
    installer, pusher)."""
    out = host.run("cd /opt/rocm-images/rocm_images && find . -name '*.py' | sort")
    assert out.stdout.split() == ["./__init__.py", "./image/__init__.py", "./image/aiter_facts.py",
                                  "./image/code_objects.py", "./image/knobs.py", "./image/probe.py",
                                  "./image/triton_targets.py"]


# What upstream's images carry at run time and ours must too: mori's RDMA core (libibverbs and its providers,
# libpci), the native libraries torchvision/torchaudio and the Fortran runtime load, and upstream's runtime
# packages (docker/upstream-parity.toml; the parity test holds the Dockerfiles, this the image).
RUNTIME_PACKAGES = ("libibverbs1", "ibverbs-providers", "libpci3", "libgfortran5", "sox", "libsox-fmt-all",
                    "libjpeg-dev", "libnuma-dev", "libopenmpi-dev", "sqlite3", "libfmt-dev")


@pytest.mark.parametrize("package", RUNTIME_PACKAGES)
def test_runtime_system_package_is_installed(host, package):
    assert host.package(package).is_installed, package


def test_mori_proxy_dependencies_import(host):
    out = host.run("python -c 'import quart, msgpack, aiohttp, zmq, blinker; print(\"ok\")'")
    assert out.rc == 0 and out.stdout.strip() == "ok", out.stderr
