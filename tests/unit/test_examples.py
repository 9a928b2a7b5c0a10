"""examples/: valid files, images pinned by digest placeholder, and only mHC knobs the patched vLLM knows."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess

import pytest
import yaml

from rocm_images import bake, lint, patches

EXAMPLES = sorted(p for p in (bake.REPO_ROOT / "examples").rglob("*") if p.is_file())
IMAGE_REF = re.compile(r"(?:[a-z0-9.-]+[/#])+vllm(?:-openai)?[@:][^\s\"']+")
KNOB = re.compile(r"\b(VLLM_[A-Z0-9_]+)\b")


@pytest.fixture(scope="module")
def known_knobs(pin, tmp_path_factory) -> set[str]:
    """Keys of environment_variables in the PATCHED vllm/envs.py (the real sdist + our series)."""
    tree = tmp_path_factory.mktemp("envs")
    (tree / "vllm").mkdir()
    shutil.copy(bake.vllm_source(pin) / "vllm" / "envs.py", tree / "vllm" / "envs.py")
    patches.apply([p for p in patches.series(pin["VLLM_REF"]) if "vllm/envs.py" in patches.touched_files(p)], tree)
    for node in ast.walk(ast.parse((tree / "vllm" / "envs.py").read_text())):
        target = getattr(node, "target", None) or (getattr(node, "targets", None) or [None])[0]
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and getattr(target, "id", "") == "environment_variables":
            return {k.value for k in node.value.keys if isinstance(k, ast.Constant)}
    raise AssertionError("environment_variables not found in vllm/envs.py")


def test_there_is_one_example_per_audience():
    names = {p.relative_to(bake.REPO_ROOT / "examples").parts[0] for p in EXAMPLES}
    assert names == {"kubernetes", "slurm", "docker", "github-actions"}


@pytest.mark.parametrize("path", [p for p in EXAMPLES if p.suffix in (".yaml", ".yml")], ids=lambda p: p.name)
def test_yaml_is_valid(path):
    assert yaml.safe_load(path.read_text())


def test_kubernetes_pod_asks_for_amd_gpus_and_sets_the_knobs():
    pod = yaml.safe_load((bake.REPO_ROOT / "examples/kubernetes/deepseek-v4-pod.yaml").read_text())
    (c,) = pod["spec"]["containers"]
    assert c["resources"]["limits"]["amd.com/gpu"] >= 1
    assert {e["name"]: e["value"] for e in c["env"]} == {"VLLM_ROCM_USE_AITER": "1", "VLLM_ROCM_USE_TILELANG_MHC": "0"}


def test_workflow_builds_with_make_on_a_self_hosted_amd_runner_and_smokes():
    wf = yaml.safe_load((bake.REPO_ROOT / "examples/github-actions/build-smoke-push.yml").read_text())
    (job,) = wf["jobs"].values()
    assert "self-hosted" in job["runs-on"]
    runs = [s.get("run", "") for s in job["steps"]]
    assert any("make image PROFILE=production" in r for r in runs)
    assert any(r.startswith("make smoke IMAGE=") for r in runs) and any("make push REGISTRY=" in r for r in runs)


@pytest.mark.parametrize("path", [p for p in EXAMPLES if p.suffix in (".sh", ".sbatch")], ids=lambda p: p.name)
def test_shell_examples_parse(path):
    assert subprocess.run(["bash", "-n", str(path)]).returncode == 0
    assert str(path) in lint.commands()["shellcheck"]  # and `make lint` (tests/unit/test_lint.py) checks them


@pytest.mark.parametrize("path", [p for p in EXAMPLES if "github-actions" not in p.parts], ids=lambda p: p.name)
def test_images_are_pinned_by_digest(path):
    refs = IMAGE_REF.findall(path.read_text())
    assert refs, f"{path.name} names no image"
    assert all("@sha256:" in r for r in refs), refs


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_knobs_exist_in_the_patched_vllm(path, known_knobs):
    used = set(KNOB.findall(path.read_text()))
    assert "VLLM_ROCM_USE_AITER_MHC" not in used  # removed by the series
    assert used <= known_knobs, used - known_knobs


def test_workflow_push_step_fails_when_the_push_fails():
    wf = yaml.safe_load((bake.REPO_ROOT / "examples/github-actions/build-smoke-push.yml").read_text())
    (job,) = wf["jobs"].values()
    (push_step,) = [s["run"] for s in job["steps"] if "make push" in s.get("run", "")]
    assert "|" not in push_step or "set -o pipefail" in push_step.split("make push")[0], push_step


def test_docker_example_runs_without_a_tty_with_amds_run_flags():
    text = (bake.REPO_ROOT / "examples/docker/deepseek-v4-server.sh").read_text()
    args = text.split("docker run", 1)[1].split()
    assert "-it" not in args and "-t" not in args and "--tty" not in args
    for flag in ("--device /dev/kfd", "--device /dev/dri", "--cap-add SYS_PTRACE", "--security-opt seccomp=unconfined",
                 "--group-add video", "--ipc=host"):
        assert flag in text, flag
