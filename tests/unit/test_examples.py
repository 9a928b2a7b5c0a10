"""examples/: valid files, images pinned by digest placeholder, and only mHC knobs the patched vLLM knows."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess

import pytest
import yaml

from rocm_images.host import graph, lint
from rocm_images.stages import patches

EXAMPLES = sorted(p for p in (graph.REPO_ROOT / "examples").rglob("*") if p.is_file())
IMAGE_REF = re.compile(r"(?:[a-z0-9.-]+[/#])+vllm(?:-openai)?[@:][^\s\"']+")
KNOB = re.compile(r"\b(VLLM_[A-Z0-9_]+)\b")


@pytest.fixture(scope="module")
def known_knobs(pin, tmp_path_factory) -> set[str]:
    """Keys of environment_variables in the PATCHED vllm/envs.py (the real sdist + our series)."""
    tree = tmp_path_factory.mktemp("envs")
    (tree / "vllm").mkdir()
    shutil.copy(graph.vllm_source(pin) / "vllm" / "envs.py", tree / "vllm" / "envs.py")
    patches.apply([p for p in patches.series(pin["VLLM_REF"]) if "vllm/envs.py" in patches.touched_files(p)], tree)
    for node in ast.walk(ast.parse((tree / "vllm" / "envs.py").read_text())):
        target = getattr(node, "target", None) or (getattr(node, "targets", None) or [None])[0]
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and getattr(target, "id", "") == "environment_variables":
            return {k.value for k in node.value.keys if isinstance(k, ast.Constant)}
    raise AssertionError("environment_variables not found in vllm/envs.py")


def test_there_is_one_example_per_audience():
    names = {p.relative_to(graph.REPO_ROOT / "examples").parts[0] for p in EXAMPLES}
    assert names == {"kubernetes", "slurm", "docker", "github-actions"}


@pytest.mark.parametrize("path", [p for p in EXAMPLES if p.suffix in (".yaml", ".yml")], ids=lambda p: p.name)
def test_yaml_is_valid(path):
    assert all(yaml.safe_load_all(path.read_text()))


def _k8s(name: str) -> list[dict]:
    return list(yaml.safe_load_all((graph.REPO_ROOT / "examples" / "kubernetes" / name).read_text()))


@pytest.mark.parametrize("name", ["deepseek-v4.yaml", "mhc-probe-job.yaml"])
def test_kubernetes_manifests_validate_against_the_kubernetes_schemas(name):
    """Offline, strict (unknown fields are errors), against the newest Kubernetes schemas kubernetes-validate has."""
    import kubernetes_validate
    from kubernetes_validate.utils import latest_version

    for doc in _k8s(name):
        kubernetes_validate.validate(doc, latest_version(), strict=True)


def test_the_schema_check_can_fail():
    import kubernetes_validate
    from kubernetes_validate.utils import latest_version

    (deployment, _) = _k8s("deepseek-v4.yaml")
    deployment["spec"]["template"]["spec"]["containers"][0]["startupProbe"]["periodSecond"] = 30  # a typo
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, latest_version(), strict=True)


def test_deployment_serves_deepseek_v4_on_eight_amd_gpus_with_health_probes():
    deployment, service = _k8s("deepseek-v4.yaml")
    assert (deployment["kind"], service["kind"]) == ("Deployment", "Service")
    pod = deployment["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert c["resources"]["limits"]["amd.com/gpu"] == 8 and "--tensor-parallel-size=8" in c["args"]
    for flag in ("--kv-cache-dtype=fp8", "--moe-backend=triton_unfused", "--gpu-memory-utilization=0.8"):
        assert flag in c["args"], flag
    assert any('"cudagraph_mode":"FULL_AND_PIECEWISE"' in a for a in c["args"])
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert (env["VLLM_ROCM_USE_AITER"], env["VLLM_ROCM_USE_TILELANG_MHC"]) == ("1", "0") and "HF_TOKEN" in env
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"]["path"] == "/health", probe
    start = c["startupProbe"]
    assert start["periodSeconds"] * start["failureThreshold"] >= 1800  # a large model load is not a crash
    shm = next(v for v in pod["volumes"] if v["name"] == "shm")
    assert shm["emptyDir"]["medium"] == "Memory"
    assert {m["mountPath"] for m in c["volumeMounts"]} == {"/models", "/dev/shm"}
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]


def test_the_probe_is_a_job_not_a_bare_pod():
    (job,) = _k8s("mhc-probe-job.yaml")
    assert job["kind"] == "Job" and job["spec"]["template"]["spec"]["containers"][0]["args"] == ["mhc-probe", "--run"]


def test_workflow_validates_against_the_github_workflow_schema():
    proc = subprocess.run([lint._tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                           str(graph.REPO_ROOT / "examples/github-actions/build-smoke-push.yml")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_slurm_job_imports_the_image_once_and_passes_the_gpus_explicitly():
    text = (graph.REPO_ROOT / "examples/slurm/deepseek-v4.sbatch").read_text()
    assert 'if [ ! -f "$SQSH" ]' in text and "enroot import" in text and '--container-image="$SQSH"' in text
    assert "/dev/kfd:/dev/kfd" in text and "/dev/dri:/dev/dri" in text


def test_workflow_builds_with_make_on_a_self_hosted_amd_runner_and_smokes():
    wf = yaml.safe_load((graph.REPO_ROOT / "examples/github-actions/build-smoke-push.yml").read_text())
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
    wf = yaml.safe_load((graph.REPO_ROOT / "examples/github-actions/build-smoke-push.yml").read_text())
    (job,) = wf["jobs"].values()
    (push_step,) = [s["run"] for s in job["steps"] if "make push" in s.get("run", "")]
    assert "|" not in push_step or "set -o pipefail" in push_step.split("make push")[0], push_step


def test_docker_example_runs_without_a_tty_with_amds_run_flags():
    text = (graph.REPO_ROOT / "examples/docker/deepseek-v4-server.sh").read_text()
    args = text.split("docker run", 1)[1].split()
    assert "-it" not in args and "-t" not in args and "--tty" not in args
    for flag in ("--device /dev/kfd", "--device /dev/dri", "--cap-add SYS_PTRACE", "--security-opt seccomp=unconfined",
                 "--group-add video", "--ipc=host"):
        assert flag in text, flag
