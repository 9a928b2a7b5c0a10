"""Reading OCI/Docker manifests: what a registry is asked to send, and the way from an index to its image."""

from __future__ import annotations

from collections.abc import Callable

MANIFEST_TYPES = ", ".join(["application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
                            "application/vnd.docker.distribution.manifest.list.v2+json",
                            "application/vnd.docker.distribution.manifest.v2+json"])


def image_manifest(node: dict, fetch: Callable[[str], dict]) -> dict:
    """From an index (image + attestations) down to the image manifest; fetch(digest) reads a manifest."""
    while "manifests" in node:
        desc = next(m for m in node["manifests"]
                    if m.get("annotations", {}).get("vnd.docker.reference.type") != "attestation-manifest")
        node = fetch(desc["digest"])
    return node
