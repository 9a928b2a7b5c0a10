"""`make push REGISTRY=<host[:port]/namespace> [TAG=...]`: publish the images `make image` built under tags
derived from their version label (bake computes it from versions.env), then print the digest each one has in
the registry, for schedulers to pin. Layers go as the image was built (`make image COMPRESSION=gzip|zstd`);
`COMPRESSION` here must agree with the image, and the registry's media types are read back after the first tag.

Refused before anything is pushed: no registry, a sandbox image (stand-ins, never a ROCm result), an image
without our labels, or one built from other pins than versions.env says.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess

from .. import UserError
from . import compression, engine, graph, transaction

_DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64})")
_REGISTRY = re.compile(r"^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)*$")


def derived_tags(labels: dict[str, str], extra: str = "") -> list[str]:
    """The tags in push order: the immutable one (the image's version label as bake computed it, our commit, the
    date) first, the user's own, and the moving tag (the version) last, so a failed push never leaves the moving
    tag on an image without the rest."""
    name = graph.label_names()
    moving = labels[name["version"]]
    revision = labels.get(name["revision"], "unknown")
    date = dt.datetime.now(dt.UTC).strftime("%Y%m%d")
    return [f"{moving}-{revision[:12]}-{date}"] + ([extra] if extra else []) + [moving]


def labels_of(ref: str) -> dict[str, str]:
    labels = transaction.image_labels(ref)
    if labels is None:
        raise UserError(f"{ref} is not in the local engine; build it first (`make image`)")
    return labels


# the labels that say which commit built the image, when and how its layers are packed, not what it was built from
BUILD_ROLES = ("revision", "created", "compression")


def check_publishable(images: dict[str, dict[str, str]]) -> None:
    """Refuse the whole set (ref -> its labels) if one image is not ours, a test image, a sandbox image, or carries
    other labels than bake computes for its target today (pins, patch series, archs, base)."""
    name = graph.label_names()
    for ref, labels in images.items():
        if name["profile"] not in labels:
            raise UserError(f"{ref} carries no {name['profile']} label (not built by this project); "
                            "build it with `make image PROFILE=production`")
        if name["negative_control"] in labels:
            raise UserError(f"{ref} is a negative-control test image ({labels[name['negative_control']]}); "
                            "it is never pushed")
        if name["sandbox"] in labels or labels[name["profile"]] != "production":
            raise UserError(f"{ref} is a SANDBOX image (stand-ins, not ROCm); push refuses it: build with "
                            "`make image PROFILE=production` on an AMD host")
    titles = {ref: labels.get(name["title"], "vllm") for ref, labels in images.items()}
    want = graph.records("production", sorted(set(titles.values())))
    skip = {name[r] for r in BUILD_ROLES}
    for ref, labels in images.items():
        current = want[titles[ref]].labels
        stale = [f"{k}={labels.get(k)}" for k, v in current.items() if k not in skip and labels.get(k) != v]
        if stale:
            raise UserError(f"{ref} was built from other pins ({', '.join(stale)}) than versions.env; "
                            "rebuild with `make image PROFILE=production`")


def check_registry(registry: str) -> str:
    if not registry:
        raise UserError("no registry: run `make push REGISTRY=<host[:port]/namespace>` (e.g. REGISTRY=myreg:5000/ml)")
    registry = registry.rstrip("/")
    if not _REGISTRY.match(registry):
        raise UserError(f"REGISTRY={registry!r} is not <host[:port]/namespace> in lower case")
    return registry


def check_compression(images: dict[str, dict[str, str]], wanted: str | None) -> dict[str, str]:
    """ref -> the compression its layers were built with; refused when it is not the COMPRESSION asked for."""
    name = graph.label_names()["compression"]
    built = {ref: compression.of_image(labels, name) for ref, labels in images.items()}
    if wanted is not None:
        compression.check(wanted)
        for ref, c in built.items():
            if c != wanted:
                raise UserError(f"{ref} was built with COMPRESSION={c}; rebuild it with `make image "
                                f"COMPRESSION={wanted}` or push it with COMPRESSION={c}")
    return built


def push_images(refs: list[str], registry: str, extra_tag: str = "", layer_compression: str | None = None) -> list[str]:
    """Check every image first (nothing is pushed if one is refused), then push; returns name@digest lines."""
    registry = check_registry(registry)
    if extra_tag:
        graph.check_names(extra_tag)
    engine.require()
    images = {ref: labels_of(ref) for ref in refs}
    check_publishable(images)
    packed = check_compression(images, layer_compression)
    plans = [(ref, f"{registry}/{ref.rsplit('/', 1)[-1].split(':')[0]}", derived_tags(labels, extra_tag))
             for ref, labels in images.items()]
    pinned = []
    for ref, repo, tags in plans:
        digest = ""
        for i, tag in enumerate(tags):
            dest = f"{repo}:{tag}"
            subprocess.run(["docker", "tag", ref, dest], check=True)
            try:
                out = subprocess.run(["docker", "push", dest], capture_output=True, text=True)
            finally:
                subprocess.run(["docker", "image", "rm", dest], capture_output=True)  # the alias only
            if out.returncode != 0:
                tail = (out.stderr or out.stdout).strip().splitlines()[-1:] or ["?"]
                raise compression.push_failure(dest, packed[ref], tail[0])
            if i == 0:  # the immutable tag: what the registry holds is checked before any other tag names it
                compression.check_pushed(dest, packed[ref], compression.registry_media_types(repo, tag))
            found = _DIGEST.search(out.stdout)
            if found:
                digest = found.group(1)
        if not digest:
            raise UserError(f"the registry reported no digest for {repo}; check `docker push` output")
        print(f"pushed {ref} as {', '.join(f'{repo}:{t}' for t in tags)}")
        pinned.append(f"{repo}@{digest}")
    return pinned


def run(profile: str, registry: str, tag: str = "", local_tag: str = "latest",
        layer_compression: str | None = None) -> list[str]:
    """Push the default targets' images built locally under local_tag (COMPRESSION, when given, must be theirs)."""
    check_registry(registry)
    if layer_compression is not None:
        compression.check(layer_compression)
    graph.profile_files(profile)
    if profile != "production":
        raise UserError(f"PROFILE={profile} images are SANDBOX stand-ins and are never pushed; "
                        "build and push PROFILE=production on an AMD host")
    env = graph.environment(profile, local_tag, prepare=False)
    refs = [t for r in graph.records(profile, list(graph.DEFAULT_TARGETS), env).values() for t in r.tags]
    return push_images(refs, registry, tag, layer_compression)
