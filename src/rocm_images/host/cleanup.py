"""What builds and tests leave in the engine, and its removal. Labels decide what is ours: every image the bake
graph builds carries the project label (bake.hcl label_names()), and so do the tests' own fixture images. Of those, test
images (repository under TEST_PREFIX), candidate tags and untagged images go; what `make image` made stays."""

from __future__ import annotations

import json
import subprocess

from . import graph

TEST_PREFIX = "rocm-vllm-test"
TEST_CONTAINER_PREFIX = "rocm-images-test-"


def project_label() -> str:
    return graph.label_names()["project"]


def _ours() -> list[dict[str, str]]:
    out = subprocess.run(["docker", "image", "ls", "--filter", f"label={project_label()}", "--format", "{{json .}}"],
                         capture_output=True, text=True, check=True)
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def leftovers() -> list[str]:
    """Refs (or ids, for untagged images) of this project's test, candidate and untagged images."""
    found = []
    for img in _ours():
        repo, tag = img["Repository"], img["Tag"]
        if tag == "<none>" or repo == "<none>":
            found.append(img["ID"])
        # test images, candidates, and tags a loopback-registry push left
        elif (repo.split("/")[0] == TEST_PREFIX or repo.startswith(f"{TEST_PREFIX}-") or tag.startswith("candidate-")
              or repo.split("/")[0].startswith(("127.0.0.1:", "localhost:"))):
            found.append(f"{repo}:{tag}")
    return sorted(set(found))


def test_containers() -> list[str]:
    out = subprocess.run(["docker", "ps", "-a", "--filter", f"name=^{TEST_CONTAINER_PREFIX}", "--format",
                          "{{.Names}}"], capture_output=True, text=True, check=True)
    return out.stdout.split()


def clean() -> list[str]:
    """Remove the leftovers (and the test containers); return what was removed."""
    containers = test_containers()
    if containers:
        subprocess.run(["docker", "rm", "-f", *containers], capture_output=True)
    refs = leftovers()
    if refs:
        subprocess.run(["docker", "image", "rm", "-f", *refs], capture_output=True)
    return containers + refs
