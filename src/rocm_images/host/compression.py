"""Layer compression of the published images (`COMPRESSION=gzip|zstd` for `make image` and `make push`).

bake.hcl turns the choice into the image output's attributes (compression, compression-level,
force-compression) and the image's compression label; this module checks the choice, reads what a registry holds
and names the fallback when a registry refuses zstd."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable

from .. import UserError
from .manifest import image_manifest

CHOICES = ("gzip", "zstd")
DEFAULT = "gzip"  # every runtime and registry pulls gzip; zstd is the opt-in (docs/bench.md, "Cold pull")
# the OCI layer media type each compression pushes as (oci-mediatypes=true in bake.hcl's image_output)
LAYER_MEDIA_TYPE = {"gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd"}
# a registry that does not take a media type refuses the manifest PUT: distribution's MANIFEST_INVALID, an HTTP
# 415 or a product's own wording; docker's containerd pusher reports only the status of that PUT
_REJECTED = re.compile(r"manifest invalid|manifest_invalid|unsupported|media ?type|415|"
                       r"PUT request to \S+/manifests/\S+: 4\d\d", re.IGNORECASE)


def check(value: str) -> str:
    if value not in CHOICES:
        raise UserError(f"COMPRESSION={value!r} is not one of {', '.join(CHOICES)}; use COMPRESSION=gzip "
                        "(default, every runtime) or COMPRESSION=zstd (faster cold pulls)")
    return value


def output_attributes(output: str) -> dict[str, str]:
    """An image output of `bake --print` (bake.hcl image_output) as its attributes: type, compression, level..."""
    return dict(kv.split("=", 1) for kv in output.split(","))


def of_image(labels: dict[str, str], name: str) -> str:
    """The compression an image was built with (its label; images from before the label are gzip)."""
    return labels.get(name, DEFAULT)


def layer_media_types(top: dict, fetch: Callable[[str], dict]) -> list[str]:
    """The layer media types of the image under `top` (an index is followed to its image, past attestations);
    fetch(digest) reads a manifest the index names."""
    return [layer["mediaType"] for layer in image_manifest(top, fetch)["layers"]]


def registry_media_types(repo: str, tag: str) -> list[str]:
    """The layer media types repo:tag has in its registry, read with buildx's resolver (the user's login, TLS)."""
    def raw(name: str) -> dict:
        out = subprocess.run(["docker", "buildx", "imagetools", "inspect", "--raw", name], capture_output=True,
                             text=True)
        if out.returncode != 0:
            raise UserError(f"cannot read the manifest of {name} back from the registry: "
                            f"{(out.stderr.strip().splitlines() or ['?'])[-1]}")
        return json.loads(out.stdout)

    return layer_media_types(raw(f"{repo}:{tag}"), lambda digest: raw(f"{repo}@{digest}"))


def check_pushed(ref: str, compression: str, media_types: list[str]) -> None:
    """Every layer in the registry has the media type of the compression the image claims."""
    want = LAYER_MEDIA_TYPE[compression]
    other = sorted({t for t in media_types if t != want})
    if other or not media_types:
        raise UserError(f"{ref}: the registry holds layers as {', '.join(other) or 'nothing'}, not {want} "
                        f"(COMPRESSION={compression}); rebuild with `make image COMPRESSION={compression}` on an "
                        "engine with the containerd image store, then push again")


def push_failure(dest: str, compression: str, tail: str) -> UserError:
    """The one line for a failed `docker push`: a refused zstd manifest names the gzip fallback."""
    if compression == "zstd" and _REJECTED.search(tail):
        return UserError(f"push of {dest} failed: {tail}; the registry does not take zstd layers: rebuild and push "
                         "with COMPRESSION=gzip (`make image COMPRESSION=gzip` then `make push COMPRESSION=gzip`)")
    return UserError(f"push of {dest} failed: {tail}; check the registry and your login")
