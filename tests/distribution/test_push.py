"""`make push` against a real registry on loopback (Debian's docker-registry, started here): tags from
versions.env, digests that the registry confirms, and the refusals that leave the registry untouched."""

from __future__ import annotations

import re
import subprocess
import uuid

import fixture_images
import pytest
import requests

from rocm_images import UserError
from rocm_images.host import cleanup, graph, local_registry, manifest, push

pytestmark = pytest.mark.engine
MANIFESTS = manifest.MANIFEST_TYPES


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    with local_registry.serve(tmp_path_factory.mktemp("registry")) as addr:
        yield addr


def _tiny_image(tmp_path, name: str, labels: dict[str, str]) -> str:
    """A one-file image carrying the given labels and a provenance attestation (as bake attaches to production
    images): exercises push without a multi-GB production build."""
    (tmp_path / "marker").write_text(uuid.uuid4().hex)
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY marker /marker\n")
    return fixture_images.build(tmp_path, f"{cleanup.TEST_PREFIX}-push/{name}:fixture", labels, provenance="mode=max")


@pytest.fixture
def production_labels() -> dict[str, str]:
    """The labels bake gives the production vllm image, plus a note that this image is a push-test fixture."""
    return {**graph.records("production", ["vllm"])["vllm"].labels, "rocm-images.test-fixture": "push mechanics only"}


def _tags(registry: str, repo: str) -> list[str]:
    resp = requests.get(f"http://{registry}/v2/{repo}/tags/list", timeout=10)
    return [] if resp.status_code == 404 else sorted(resp.json()["tags"] or [])


def test_push_uses_derived_tags_and_prints_registry_digests(registry, production_labels, tmp_path, label):
    ref = _tiny_image(tmp_path, "vllm", production_labels)
    (line,) = push.push_images([ref], f"{registry}/ml", extra_tag="rc1")
    repo_at, digest = line.split("@")
    assert repo_at == f"{registry}/ml/vllm" and digest.startswith("sha256:")
    want = push.derived_tags(production_labels, "rc1")
    assert _tags(registry, "ml/vllm") == sorted(want)
    assert want[-1] == production_labels[label["version"]]  # the moving tag goes last
    for tag in want:  # every tag names the digest we printed
        resp = requests.head(f"http://{registry}/v2/ml/vllm/manifests/{tag}", headers={"Accept": MANIFESTS},
                             timeout=10)
        assert resp.headers["Docker-Content-Digest"] == digest
    index = requests.get(f"http://{registry}/v2/ml/vllm/manifests/{digest}", headers={"Accept": MANIFESTS},
                         timeout=10).json()
    kinds = [m.get("annotations", {}).get("vnd.docker.reference.type") for m in index.get("manifests", [])]
    assert "attestation-manifest" in kinds, "the provenance attestation did not travel with the image"
    pulled = subprocess.run(["docker", "pull", line], capture_output=True, text=True)
    assert pulled.returncode == 0, pulled.stderr
    local = subprocess.run(["docker", "image", "ls", "-q", f"{registry}/ml/vllm:{want[-1]}"], capture_output=True,
                           text=True).stdout
    assert local == "", "push left its registry alias tags behind"


def _digest(registry: str, repo: str, tag: str) -> str:
    resp = requests.head(f"http://{registry}/v2/{repo}/manifests/{tag}", headers={"Accept": MANIFESTS}, timeout=10)
    return resp.headers.get("Docker-Content-Digest", "") if resp.status_code == 200 else ""


def test_a_failed_push_leaves_the_moving_tag_on_the_previous_image(registry, production_labels, tmp_path,
                                                                   monkeypatch):
    """The second `docker push` of a release fails (injected): the moving tag still names the previous
    release, because it is pushed only after every other tag made it."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = _tiny_image(tmp_path / "a", "vllm", production_labels)
    (line,) = push.push_images([first], f"{registry}/order", extra_tag="rc1")
    previous = line.split("@")[1]
    moving = push.derived_tags(production_labels)[-1]
    assert _digest(registry, "order/vllm", moving) == previous
    second = _tiny_image(tmp_path / "b", "vllm", production_labels)
    real_run, pushes = subprocess.run, []

    def second_push_fails(cmd, *args, **kwargs):
        if cmd[:2] == ["docker", "push"]:
            pushes.append(cmd[2])
            if len(pushes) == 2:
                return subprocess.CompletedProcess(cmd, 1, "", "denied: injected failure of the second push")
        return real_run(cmd, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", second_push_fails)
    with pytest.raises(UserError, match=r"push of .*:rc1 failed: denied: injected failure"):
        push.push_images([second], f"{registry}/order", extra_tag="rc1")
    monkeypatch.undo()
    assert _digest(registry, "order/vllm", moving) == previous, "the moving tag moved although the release failed"
    assert len(pushes) == 2 and not pushes[0].endswith(f":{moving}")


def test_sandbox_images_are_refused_and_nothing_is_pushed(registry, sandbox_images, production_labels, tmp_path):
    good = _tiny_image(tmp_path, "vllm-openai", production_labels)
    with pytest.raises(UserError, match=r"is a SANDBOX image .* push refuses it"):
        push.push_images([good, *(t for tags in sandbox_images.values() for t in tags)], f"{registry}/refused")
    assert _tags(registry, "refused/vllm-openai") == []  # checked before anything moved
    with pytest.raises(UserError, match="PROFILE=sandbox images are SANDBOX stand-ins and are never pushed"):
        push.run("sandbox", f"{registry}/refused")


def test_unlabelled_and_stale_images_are_refused(registry, production_labels, tmp_path, label):
    bare = _tiny_image(tmp_path, "bare", {})
    with pytest.raises(UserError, match=rf"carries no {re.escape(label['profile'])} label"):
        push.push_images([bare], f"{registry}/refused")
    stale = _tiny_image(tmp_path, "stale", {**production_labels, label["vllm_ref"]: "v0.0.1"})
    with pytest.raises(UserError, match=rf"built from other pins \({re.escape(label['vllm_ref'])}=v0.0.1\)"):
        push.push_images([stale], f"{registry}/refused")
    control = _tiny_image(tmp_path, "control", {**production_labels,
                                                label["negative_control"]: "NEGATIVE CONTROL: test"})
    with pytest.raises(UserError, match="is a negative-control test image .* never pushed"):
        push.push_images([control], f"{registry}/refused")
    assert _tags(registry, "refused/bare") == _tags(registry, "refused/stale") == _tags(registry, "refused/control")
    assert _tags(registry, "refused/bare") == []


@pytest.mark.parametrize("registry_arg,message", [("", "no registry: run `make push REGISTRY="),
                                                   ("Bad Registry!", "is not <host[:port]/namespace>")])
def test_bad_registry_argument_is_one_line(registry_arg, message):
    with pytest.raises(UserError, match=message.replace("[", r"\[").replace("(", r"\(")):
        push.run("production", registry_arg)
