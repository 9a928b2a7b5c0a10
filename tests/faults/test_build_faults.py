"""Build faults (sandbox profile, real engine): stop early with one line; tags move only after a build and its
checks succeed; an interrupted build resumes from the cache; no candidate tag is left behind."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from rocm_images import REPO_ROOT, UserError
from rocm_images.host import bench, graph, preflight, transaction
from rocm_images.stages import pins

pytestmark = pytest.mark.engine
CLI = [sys.executable, "-m", "rocm_images"]


def _image_id(ref: str) -> str:
    return subprocess.run(["docker", "image", "inspect", "-f", "{{.Id}}", ref], capture_output=True,
                          text=True).stdout.strip()


def _vllm_tag(tag: str) -> str:
    """The vllm image a build with TAG=tag makes, as bake computes it."""
    env = graph.environment("sandbox", tag, prepare=False)
    return graph.records("sandbox", ["vllm"], env)["vllm"].tags[0]


def test_low_disk_stops_before_building(sandbox_images):
    env = dict(os.environ, ROCM_IMAGES_MIN_FREE_GB="1000000")
    proc = subprocess.run([*CLI, "image", "--profile", "sandbox", "--tag", "faults-disk"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 2
    err = proc.stderr.strip()
    assert err.startswith("error: only ") and "a build needs 1000000 GiB; free disk space" in err and "\n" not in err
    assert _image_id(_vllm_tag("faults-disk")) == "" and transaction.candidates() == []


def test_second_concurrent_build_is_refused_naming_the_first(sandbox_images):
    holder = subprocess.Popen([sys.executable, "-c", "import time\nfrom rocm_images.host import transaction\n"
                               "with transaction.build_lock():\n    print('locked', flush=True)\n    time.sleep(60)"],
                              cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        proc = subprocess.run([*CLI, "image", "--profile", "sandbox", "--tag", "faults-lock"], cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=120)
    finally:
        holder.kill()
        holder.wait()
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"error: another `make image` is running (pid {holder.pid}); "
                                   "wait for it to finish, then rerun")
    assert _image_id(_vllm_tag("faults-lock")) == ""


def test_an_image_failing_verification_after_load_moves_no_tag_and_leaves_no_candidate(sandbox_images, label):
    """The build succeeds and loads, then the post-load check fails (a profile label that contradicts the
    profile, injected with bake --set): nothing is tagged and the candidates are gone."""
    good = sandbox_images["vllm"][0]
    last_good = _vllm_tag("faults-verify")
    subprocess.run(["docker", "tag", good, last_good], check=True)
    try:
        with pytest.raises(UserError, match=rf"label {re.escape(label['profile'])}='production' != sandbox; "
                                            "refusing to tag"):
            transaction.build("sandbox", ["vllm"], tag="faults-verify",
                              extra=["--set", f"vllm.labels.{label['profile']}=production"])
        assert _image_id(last_good) == _image_id(good), "a tag moved to an image that failed its checks"
        assert transaction.candidates() == []
    finally:
        subprocess.run(["docker", "image", "rm", last_good, *transaction.candidates()], capture_output=True)


def test_interrupted_build_keeps_the_last_good_tag_and_resumes_from_cache(sandbox_images, tmp_path, label):
    """SIGTERM in the middle of a real vLLM wheel rebuild (full patch mode with an edited series, so the wheel
    stage cannot come from the cache), then the same build again."""
    good = sandbox_images["vllm"][0]
    last_good = _vllm_tag("faults-interrupt")
    subprocess.run(["docker", "tag", good, last_good], check=True)
    series = bench.edited_series(pins.load(), graph.BUILD_DIR / "faults-series")
    override, sets = graph.series_override(series, ("vllm",))
    code = ("import sys\nfrom rocm_images import UserError\nfrom rocm_images.host import transaction\ntry:\n"
            f"    transaction.build('sandbox', ['vllm'], tag='faults-interrupt',\n"
            f"                      extra={['--progress=plain', *sets]!r})\n"
            "except UserError as e:\n    print(f'error: {e}', file=sys.stderr)\n    sys.exit(2)\n")
    env = dict(os.environ, PATCH_MODE="full", **override)
    first = subprocess.Popen([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    log = []
    for line in first.stdout:  # wait until the uncached wheel build is under way
        log.append(line)
        if "pip wheel" in line and "CACHED" not in line:
            time.sleep(3)
            first.send_signal(signal.SIGTERM)
            break
    rest, _ = first.communicate(timeout=120)
    out = "".join(log) + rest
    try:
        assert first.returncode == 2, out[-3000:]
        assert "error: build interrupted; previous tags are untouched; rerun to resume from the cache" in out
        assert _image_id(last_good) == _image_id(good), "the tag moved although the build did not finish"
        assert transaction.candidates() == []
        second = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True,
                                text=True, timeout=1800)
        assert second.returncode == 0, second.stderr[-3000:]
        assert "CACHED" in second.stderr + second.stdout  # the steps before the wheel came from the cache
        labels = transaction.image_labels(last_good)
        assert _image_id(last_good) != _image_id(good) and labels[label["profile"]] == "sandbox"
        assert transaction.candidates() == []
    finally:
        subprocess.run(["docker", "image", "rm", last_good], capture_output=True)
        shutil.rmtree(series, ignore_errors=True)


def test_unreachable_production_base_suggests_the_sandbox():
    with pytest.raises(UserError) as err:  # a loopback port nobody listens on: unreachable on any machine
        preflight.check_production_base({"ROCM_BASE_IMAGE": "127.0.0.1:9/rocm/vllm-dev:none",
                                    "ROCM_BASE_DIGEST": "sha256:" + "0" * 64})
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"production base image 127.0.0.1:9/rocm/vllm-dev:none@sha256:{'0' * 64} "
                                               "is unreachable")
    assert msg.endswith("build offline with `make image PROFILE=sandbox`")
