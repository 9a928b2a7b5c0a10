"""Each example's own command line, run against the sandbox vllm-openai image with the GPU flags left out: the
entrypoint accepts its knobs and `vllm serve` parses every flag, then stops at the (absent) model. A failure
about the model, not about our entrypoint or a flag, is the pass condition here: there are no GPUs or weights."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import uuid

import pytest
import yaml

from rocm_images import REPO_ROOT

pytestmark = pytest.mark.engine
EXAMPLES = REPO_ROOT / "examples"
MODEL = "/models/DeepSeek-V4-Pro"


@pytest.fixture(scope="module")
def openai_image(request) -> str:
    return request.getfixturevalue("sandbox_images")["vllm-openai"][0]


def reached_the_model(proc: subprocess.CompletedProcess) -> None:
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-2000:]
    assert "[rocm-images] error" not in out, out[-2000:]
    for argparse_error in ("unrecognized arguments", "invalid choice", "error: argument"):
        assert argparse_error not in out, out[-2000:]
    last = [line for line in without_exit_noise(out.splitlines()) if line.strip()][-1]
    assert MODEL in last, last  # the run ended on the model it was given, after parsing everything else


def without_exit_noise(lines: list[str]) -> list[str]:
    """The lines before the sandbox's known exit-time traceback (aiter's op registrations meeting CPU torch 2.13's
    library teardown in weakref's _exitfunc; docs/profiles.md): printed after the process's own last word."""
    for i, line in enumerate(lines):
        if line.rstrip().endswith("Traceback (most recent call last):") and "_exitfunc" in " ".join(lines[i:i + 4]):
            return lines[:i]
    return lines


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_docker_example(openai_image, tmp_path):
    env = dict(os.environ, IMAGE=openai_image, MODELS=str(tmp_path), GPU_FLAGS="", PORT=str(_free_port()),
               NAME=f"rocm-images-example-{uuid.uuid4().hex[:8]}")
    proc = subprocess.run(["sh", str(EXAMPLES / "docker" / "deepseek-v4-server.sh")], env=env, capture_output=True,
                          text=True, timeout=600)
    reached_the_model(proc)


def test_kubernetes_example(openai_image):
    deployment = next(yaml.safe_load_all((EXAMPLES / "kubernetes" / "deepseek-v4.yaml").read_text()))
    (c,) = deployment["spec"]["template"]["spec"]["containers"]
    env = [a for e in c["env"] if "value" in e for a in ("-e", f"{e['name']}={e['value']}")]
    proc = subprocess.run(["docker", "run", "--rm", *env, openai_image, *c["args"]], capture_output=True, text=True,
                          timeout=600)
    reached_the_model(proc)


def test_slurm_example(openai_image):
    sbatch = EXAMPLES / "slurm" / "deepseek-v4.sbatch"
    text = sbatch.read_text()
    serve = subprocess.run(["bash", "-c", 'eval "$(sed -n "/^SERVE=(/,/)$/p" "$1")"; printf "%s\\0" "${SERVE[@]}"',
                            "_", str(sbatch)], capture_output=True, text=True, check=True).stdout.split("\0")[:-1]
    assert serve[:3] == ["vllm", "serve", MODEL]
    env = [a for k, v in re.findall(r"^export (\w+)=(\S+)", text, re.M) for a in ("-e", f"{k}={v}")]
    proc = subprocess.run(["docker", "run", "--rm", *env, "--entrypoint", "rocm-images-entrypoint", openai_image,
                           *serve], capture_output=True, text=True, timeout=600)
    reached_the_model(proc)


def test_a_bad_flag_would_fail_these_checks(openai_image):
    """The pass condition can fail: the same command with a misspelt flag stops in argument parsing."""
    proc = subprocess.run(["docker", "run", "--rm", openai_image, MODEL, "--moe-backend=triton_unfussed"],
                          capture_output=True, text=True, timeout=600)
    with pytest.raises(AssertionError):
        reached_the_model(proc)
