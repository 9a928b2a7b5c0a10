"""The build transaction: lock -> bake into candidate tags -> verify every label bake computed -> move the
tags bake prints for TAG; candidates are removed whatever happens (failure, Ctrl-C, SIGTERM)."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from .. import REPO_ROOT, UserError
from ..stages import aiter_guard, pins
from . import aiter_mirror, ck_mirror, compression, engine, sandbox_base, torch_wheel
from .graph import (
    BUILD_DIR,
    DEFAULT_TARGETS,
    bake_cmd,
    check_names,
    check_targets,
    environment,
    records,
    vllm_source,
    with_contexts,
)
from .preflight import check_disk, check_production_base

LOCK_FILE = BUILD_DIR / ".image.lock"
CANCEL_WAIT_S = 60  # how long an interrupted bake may take to cancel its build in the engine


@contextmanager
def build_lock() -> Iterator[None]:
    BUILD_DIR.mkdir(exist_ok=True)
    with LOCK_FILE.open("a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            raise UserError(f"another `make image` is running (pid {f.read().strip() or '?'}); "
                            "wait for it to finish, then rerun") from None
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        try:
            yield
        finally:
            f.truncate(0)


def build(profile: str, targets: list[str] | None = None, tag: str = "latest",
          extra: list[str] | None = None, layer_compression: str = compression.DEFAULT) -> dict[str, list[str]]:
    """Build into a candidate tag, verify, then move the real tags. Returns the final tags by target name."""
    targets = targets or list(DEFAULT_TARGETS)
    check_names(tag, os.environ.get("IMAGE_PREFIX"))
    compression.check(layer_compression)
    pin = pins.load()
    env = environment(profile, tag, pin, prepare=False)  # once per build: an override is announced once
    env["COMPRESSION"] = layer_compression
    final_of = check_targets(profile, targets, env)  # the tags the build moves to, as bake computes them for TAG
    pins.check_aiter_policy(pin)
    if profile == "sandbox":  # every source the sandbox reads, before anything builds
        env.update(torch_wheel.prepare(pin))
        env.update(aiter_mirror.prepare(pin))
        env.update(ck_mirror.prepare(pin))
    engine.require()
    if layer_compression != "gzip":  # a classic store keeps no blobs: push would recompress them as gzip
        engine.require_image_store(why=f"COMPRESSION={layer_compression} keeps its layers as built only in")
    check_disk()
    with build_lock():
        _untag(candidates())  # leftovers of a build killed too hard to clean up (SIGKILL)
        if profile == "production":
            engine.require_image_store()
            check_production_base(pin)
            aiter_guard.require_ref(pin["AITER_REPO"], pin["AITER_BRANCH"])
        else:
            sandbox_base.ensure(pin)
            sandbox_base.ensure(pin, compiler=True)
        vllm_source(pin)
        env["TAG"] = f"candidate-{uuid.uuid4().hex[:10]}"
        cand = records(profile, targets, env)
        cand_tags = [t for r in cand.values() for t in r.tags]
        # the build lands on candidate tags; real tags move only after every image built and passed its checks,
        # and candidates are removed whatever happens (failure, Ctrl-C, SIGTERM)
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            # each published target's output (bake.hcl image_output) loads it into the engine with its compression
            proc = subprocess.Popen(bake_cmd(profile, *(extra or []), *with_contexts(profile, targets, env)),
                                    cwd=REPO_ROOT, env=env)
            if _wait_or_cancel(proc) != 0:
                raise UserError(f"bake failed for {' '.join(targets)} (profile {profile}); previous tags are "
                                "untouched; fix the error above and rerun (cached steps are reused)")
            for rec in cand.values():
                for ct in rec.tags:
                    _verify(ct, rec.labels)
            for name, rec in cand.items():
                for ct, ft in zip(rec.tags, final_of[name].tags, strict=True):
                    subprocess.run(["docker", "tag", ct, ft], check=True)
            return {name: final_of[name].tags for name in cand}
        except KeyboardInterrupt:
            raise UserError("build interrupted; previous tags are untouched; rerun to resume from the cache") from None
        finally:
            _untag(cand_tags)
            signal.signal(signal.SIGTERM, previous)


def candidates() -> list[str]:
    """Candidate tags in the engine (a build's own, or leftovers of one that was killed)."""
    out = subprocess.run(["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}"], capture_output=True,
                         text=True)
    return [r for r in out.stdout.split() if ":candidate-" in r]


def _wait_or_cancel(proc: subprocess.Popen[bytes]) -> int:
    """bake's exit code. Interrupted, bake gets SIGINT and is waited for: buildx then cancels the build in the engine
    before it exits, whereas a killed client leaves the engine cancelling on its own, and a rerun started meanwhile
    can meet a half-removed layer ("failed to commit ... snapshot ... does not exist")."""
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=CANCEL_WAIT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        raise


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def image_labels(ref: str) -> dict[str, str] | None:
    """The image's labels ({} when it has none); None when the engine does not have the image."""

    out = subprocess.run(["docker", "image", "inspect", ref], capture_output=True, text=True)
    if out.returncode != 0:
        return None
    return json.loads(out.stdout)[0]["Config"].get("Labels") or {}


def _verify(ref: str, want: dict[str, str]) -> None:
    """Cheap post-build check before a tag moves: the loaded image carries every label bake computed for it."""
    labels = image_labels(ref)
    if labels is None:
        raise UserError(f"{ref} was not loaded into the engine")
    for key, value in want.items():
        if labels.get(key) != value:
            raise UserError(f"{ref}: label {key}={labels.get(key)!r} != {value}; refusing to tag")


def _untag(refs: list[str]) -> None:
    for r in refs:
        subprocess.run(["docker", "image", "rm", "--no-prune", r], capture_output=True)
