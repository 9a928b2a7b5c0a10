"""The bake graph as bake itself prints it: targets, inheritance, labels, profile contexts."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import hcl2
import pytest

from rocm_images import REPO_ROOT, UserError
from rocm_images.host import graph, transaction

IMAGE_TARGETS = ("rocm_base", "vllm", "vllm-openai")
OCI = ("source", "revision", "version", "created", "title", "description")


@pytest.fixture(scope="module", params=["production", "sandbox"])
def printed(request):
    return request.param, json.loads(graph.print_graph(request.param, ["all"]))


def test_every_image_target_carries_the_labels(printed, pin, label):
    profile, g = printed
    for name in (*IMAGE_TARGETS, "test-unpatched", "test-no-module-mhc", "test-old-aiter"):
        labels = g["target"][name]["labels"]
        for key in OCI:
            assert labels.get(f"org.opencontainers.image.{key}"), (name, key)
            assert label[key] == f"org.opencontainers.image.{key}"  # the OCI spec's names, whatever we rename
        assert labels[label["aiter_ref"]] == pin["AITER_BRANCH"]
        assert labels[label["aiter_commit"]] == pin["AITER_COMMIT"]
        assert labels[label["vllm_ref"]] == pin["VLLM_REF"]
        assert len(labels[label["patch_series"]]) == 64
        assert labels[label["profile"]] == profile
        assert (label["sandbox"] in labels) == (profile == "sandbox")
        # the build-info file is written from the same map, with the names code in the image reads them by
        assert json.loads(g["target"][name]["args"]["BUILD_INFO"]) == {"labels": labels, "label_names": label}


def test_label_names_is_not_a_target_to_build():
    with pytest.raises(UserError, match=r"TARGETS=label-names: not a target or group of bake.hcl"):
        graph.check_targets("production", [graph.NAMES_TARGET])


def test_profiles_swap_sources_through_named_contexts_only(printed, pin):
    profile, g = printed
    ctx = g["target"]["rocm_base"]["contexts"]
    # both profiles build vLLM from the same sha256-checked sdist
    assert ctx["vllm-src"].endswith(f"vllm-{pin['VLLM_VERSION']}")
    if profile == "production":
        assert ctx["base"] == f"docker-image://{pin['ROCM_BASE_IMAGE']}@{pin['ROCM_BASE_DIGEST']}"
        # built by the Dockerfile's own stages; aiter from AITER_REPO, its modules by its setup.py
        assert not {"aiter-src", "rocm-wheels", "aiter-mirror", "aiter-prebuilt"} & set(ctx), ctx
    else:
        assert ctx["base"].startswith("docker-image://rocm-images/sandbox-base:")
        assert "aiter-src" not in ctx  # the same aiter_clone stage as production: a git clone of AITER_REPO
        assert ctx["aiter-prebuilt"] == "target:sandbox-aiter-cpu"
        assert ctx["rocm-wheels"] == "target:sandbox-wheels"
    assert g["target"]["vllm"]["contexts"]["rocm_base"] == "target:rocm_base-core"
    assert g["target"]["vllm"]["dockerfile"] == g["target"]["vllm-openai"]["dockerfile"]


def test_groups_and_inheritance_in_source(repo, printed):
    with (repo / "bake.hcl").open() as f:
        doc = hcl2.load(f)
    def unquote(x):
        return [unquote(i) for i in x] if isinstance(x, list) else x.strip('"') if isinstance(x, str) else x

    groups = {unquote(k): unquote(v["targets"]) for g in doc["group"] for k, v in g.items()}
    assert set(groups["default"]) == set(IMAGE_TARGETS)
    assert "default" in groups["all"]
    # the published images are one matrix target: each builds its Dockerfile's stage of the same name
    _, g = printed
    for name in IMAGE_TARGETS:
        want = "docker/Dockerfile.rocm_base" if name == "rocm_base" else "docker/Dockerfile.vllm"
        assert (g["target"][name]["dockerfile"], g["target"][name]["target"]) == (want, name)


def test_unknown_profile_is_one_clear_line():
    with pytest.raises(Exception, match=r"unknown PROFILE='rocm'; use PROFILE=production or PROFILE=sandbox"):
        graph.profile_files("rocm")


def test_attestations_on_published_production_images_only(printed):
    profile, g = printed
    for name in IMAGE_TARGETS:
        attest = g["target"][name].get("attest") or []
        if profile == "production":
            assert {a.split(",")[0] for a in attest} == {"type=sbom", "type=provenance"}, name
        else:
            assert attest == [], name
    assert not g["target"]["rocm_base-core"].get("attest")  # a context, never published


@pytest.mark.parametrize("tag", ["bad:tag!", "-x", ".x", "a" * 129, "with space", ""])
def test_a_bad_tag_stops_make_image_in_one_line_before_anything_builds(tag):
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "rocm_images", "image", "--profile", "sandbox", f"--tag={tag}"],
                          capture_output=True, text=True, timeout=60,
                          # no engine to reach: the check must come first, so nothing could build even if it failed
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "src"),
                               "DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert proc.returncode == 2 and time.monotonic() - start < 5
    assert proc.stderr.strip() == (f"error: TAG={tag!r} is not a valid image tag (letters, digits, '_', '.', '-'; "
                                   "at most 128; not starting with '.' or '-'); pick another, e.g. TAG=dev")


@pytest.mark.parametrize("prefix", ["Rocm-VLLM", "a//b", "x/", "under score!"])
def test_a_bad_image_prefix_is_one_line(prefix):
    with pytest.raises(UserError, match=rf"IMAGE_PREFIX={re.escape(repr(prefix))} is not a valid repository path"):
        graph.check_names("dev", prefix)


@pytest.mark.parametrize("tag,prefix", [("dev", "rocm-vllm"), ("v0.22.1-aiter-v0.1.14_x", "ml/rocm.vllm"),
                                        ("a" * 128, "a")])
def test_good_names_pass(tag, prefix):
    graph.check_names(tag, prefix)


def test_a_bare_bake_with_the_pins_file_builds_what_make_image_builds(pin):
    """versions.env reaches bake as a variables file: a bare `docker buildx bake -f bake.hcl -f
    build/versions.bake.json` (no CLI environment) resolves the same sources and build args."""
    ours = json.loads(graph.print_graph("production", ["default"]))["target"]
    bare_env = {k: os.environ[k] for k in ("PATH", "HOME", "DOCKER_CONFIG", "DOCKER_HOST", "IMAGE_PREFIX")
                if k in os.environ}
    out = subprocess.run(["docker", "buildx", "bake", "-f", "bake.hcl", "-f",
                          os.path.relpath(graph.pins_file(), REPO_ROOT), "--print", "default"],
                         cwd=REPO_ROOT, env=bare_env, capture_output=True, text=True, check=True)
    bare = json.loads(out.stdout)["target"]
    for name in IMAGE_TARGETS:
        assert bare[name]["contexts"] == ours[name]["contexts"], name
        assert {k: v for k, v in bare[name]["args"].items() if k != "BUILD_INFO"} == \
            {k: v for k, v in ours[name]["args"].items() if k != "BUILD_INFO"}, name
        assert bare[name]["tags"] == ours[name]["tags"]


def test_a_stray_shell_variable_does_not_override_a_pin(monkeypatch, pin):
    monkeypatch.setenv("AITER_BRANCH", "v0.1.13")
    printed = json.loads(graph.print_graph("production", ["rocm_base"],
                                           graph.environment("production", "latest", prepare=False)))
    assert printed["target"]["rocm_base"]["args"]["AITER_BRANCH"] == pin["AITER_BRANCH"]


def test_unknown_targets_are_one_line_before_anything_builds():
    start = time.monotonic()
    with pytest.raises(UserError, match=r"^TARGETS=vllm,bogus: not a target or group of bake.hcl; use e.g."):
        transaction.build("sandbox", ["vllm", "bogus"], tag="never")
    assert time.monotonic() - start < 5


def test_missing_buildx_is_its_own_line(monkeypatch, tmp_path):
    """A docker CLI without the buildx plugin (the message the real CLI prints for a missing plugin)."""
    real = subprocess.run(["sh", "-c", "command -v docker"], capture_output=True, text=True).stdout.strip()
    fake = tmp_path / "docker"
    fake.write_text("#!/bin/sh\nif [ \"$1\" = buildx ]; then echo \"docker: 'buildx' is not a docker command.\" >&2;"
                    f" exit 1; fi\nexec {real} \"$@\"\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    with pytest.raises(UserError) as err:
        transaction.build("sandbox", ["default"], tag="never")
    assert str(err.value) == ("docker buildx is not installed (`docker buildx version` fails); run `make engine`, "
                              "which installs it")


def test_broken_bake_file_names_file_and_line(monkeypatch, tmp_path):
    broken = tmp_path / "bake.hcl"
    broken.write_text((REPO_ROOT / "bake.hcl").read_text() + '\ntarget "half" {\n')
    monkeypatch.setitem(graph.PROFILES, "sandbox", [str(broken), "bake.sandbox.hcl"])
    with pytest.raises(UserError) as err:
        transaction.build("sandbox", ["default"], tag="never")
    msg = str(err.value)
    assert msg.startswith(f"bake cannot read its files: {broken}:") and "Unclosed configuration block" in msg
    assert "TARGETS" not in msg and "\n" not in msg


def test_the_sandbox_labels_name_its_torch_wheel_and_production_none(label):
    env = dict(graph.environment("sandbox", "latest", prepare=False), SANDBOX_TORCH_SHA256="ab" * 32,
               SANDBOX_TORCH_SOURCE="index http://127.0.0.1:1/simple")
    sandbox = json.loads(graph.print_graph("sandbox", ["default", "sandbox-wheels"], env))["target"]
    for name in IMAGE_TARGETS:
        assert sandbox[name]["labels"][label["torch_wheel"]] == "sha256:" + "ab" * 32 + " from index http://127.0.0.1:1/simple"
        assert label["torch_wheel"] in json.loads(sandbox[name]["args"]["BUILD_INFO"])["labels"]
    assert sandbox["sandbox-wheels"]["args"]["SANDBOX_TORCH_SHA256"] == "ab" * 32
    production = json.loads(graph.print_graph("production", ["default"]))["target"]
    assert all(label["torch_wheel"] not in production[n]["labels"] for n in IMAGE_TARGETS)


def test_host_ca_is_the_bundle_this_machine_has(monkeypatch, tmp_path):
    """RHEL-family hosts keep it elsewhere than Debian; a host with none passes an empty secret."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.setattr(graph.ssl, "get_default_verify_paths", lambda: type("P", (), {"cafile": None})())
    rhel = tmp_path / "ca-bundle.crt"
    rhel.write_text("-----BEGIN CERTIFICATE-----\n")
    assert graph.host_ca((str(tmp_path / "absent.crt"), str(rhel))) == str(rhel)
    assert graph.host_ca((str(tmp_path / "absent.crt"),)) == os.devnull
    monkeypatch.setenv("SSL_CERT_FILE", str(rhel))
    assert graph.host_ca(()) == str(rhel)
    monkeypatch.setenv("HOST_CA", str(rhel))
    assert graph.environment("production", "latest", prepare=False)["HOST_CA"] == str(rhel)
