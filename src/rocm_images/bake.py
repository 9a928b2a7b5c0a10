"""Drive `docker buildx bake`: environment from versions.env, profile files, preflight, safe tagging."""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from . import REPO_ROOT, UserError, aiter_guard, engine, patches, pins, sandbox_base, sdist

PROFILES = {"production": ["bake.hcl"], "sandbox": ["bake.hcl", "bake.sandbox.hcl"]}
BUILD_DIR = REPO_ROOT / "build"
LOCK_FILE = BUILD_DIR / ".image.lock"
MIN_FREE_GB = float(os.environ.get("ROCM_IMAGES_MIN_FREE_GB", "15"))
DEFAULT_TARGETS = ("default",)


DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")  # the engine's rule for a tag
_REPO_PATH = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")


def check_names(tag: str, prefix: str | None = None) -> None:
    """TAG and IMAGE_PREFIX, checked by the engine's rules before anything builds (not after an hour of it)."""
    if not _TAG.match(tag):
        raise UserError(f"TAG={tag!r} is not a valid image tag (letters, digits, '_', '.', '-'; at most 128; "
                        "not starting with '.' or '-'); pick another, e.g. TAG=dev")
    if prefix is not None and not _REPO_PATH.match(prefix):
        raise UserError(f"IMAGE_PREFIX={prefix!r} is not a valid repository path (lower case, digits, '.', '_', "
                        "'-', '/'); e.g. IMAGE_PREFIX=rocm-vllm")


def profile_files(profile: str) -> list[str]:
    if profile not in PROFILES:
        raise UserError(f"unknown PROFILE={profile!r}; use PROFILE=production or PROFILE=sandbox")
    return PROFILES[profile]


def series_sha256(series: list[Path]) -> str:
    """The patch-series label: names and contents of the patches, in order."""
    h = hashlib.sha256()
    for p in series:
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def series_override(series_dir: Path, targets: tuple[str, ...] = ("vllm", "vllm-openai")) -> tuple[dict, list[str]]:
    """(env, bake args) that build the vllm targets with another patch series directory (labelled as such)."""
    rel = os.path.relpath(series_dir, REPO_ROOT)
    env = {"PATCH_SERIES_SHA256": series_sha256(sorted(series_dir.glob("*.patch")))}
    return env, [a for t in targets for a in ("--set", f"{t}.contexts.patches={rel}")]


def commit_time() -> str:
    """HEAD's commit time: a `created` label that is stable across no-op rebuilds."""
    out = subprocess.run(["git", "-C", str(REPO_ROOT), "log", "-1", "--format=%cI"], capture_output=True, text=True)
    if out.returncode != 0 or not out.stdout.strip():
        return "1970-01-01T00:00:00Z"
    return dt.datetime.fromisoformat(out.stdout.strip()).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def git_sha() -> str:
    out = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short=12", "HEAD"],
                         capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else "unknown"


def torch_wheels_dir() -> str:
    """The directory pip's find-links names (where the machine keeps its CPU torch wheel)."""
    out = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True)
    for line in out.stdout.splitlines():
        if "find-links" in line:
            for cand in line.split("=", 1)[1].strip("'\" ").split():
                if Path(cand).is_dir():
                    return cand
    fallback = BUILD_DIR / "wheels"
    fallback.mkdir(parents=True, exist_ok=True)  # empty: pip then takes torch from the index
    return str(fallback)


def environment(profile: str, tag: str, pin: dict[str, str] | None = None, prepare: bool = True) -> dict[str, str]:
    """The variables bake reads: every pin plus the build's own facts. prepare=False names the sandbox sources
    without fetching or unpacking them (for --print)."""
    pin = pin or pins.load()
    # the pins reach bake through the variables file bake_cmd passes; a stray shell variable of the same name
    # must not win over it, except for the pins a user may override for one build (announced, labelled)
    env = {k: v for k, v in os.environ.items() if k not in pin}
    env.update({k: v for k, v in pins.with_overrides(pin).items() if v != pin[k]})
    src = vllm_source(pin) if prepare else BUILD_DIR / "src" / f"vllm-{pin['VLLM_VERSION']}"
    env.update(
        VLLM_SRC_DIR=os.path.relpath(src, REPO_ROOT),
        PROFILE=profile, TAG=tag, GIT_SHA=git_sha(),
        CREATED=commit_time(),
        PATCH_SERIES_SHA256=series_sha256(patches.series(pin["VLLM_REF"])),
        PATCH_MODE=os.environ.get("PATCH_MODE", "auto"),
    )
    if profile == "sandbox":
        env.update(SANDBOX_BASE_IMAGE=sandbox_base.image_ref(pin), TORCH_WHEELS_DIR=torch_wheels_dir())
    return env


def vllm_source(pin: dict[str, str]) -> Path:
    """The unpacked, sha256-checked vLLM sdist (the source in both profiles); unpacked once per version."""
    return sdist.source_tree(pin["VLLM_VERSION"], pin["VLLM_SDIST_SHA256"], BUILD_DIR / "src")


def pins_file() -> Path:
    """versions.env as a bake variables file (defaults of the pin variables), rewritten from versions.env: with it,
    a bare `docker buildx bake -f bake.hcl -f build/versions.bake.json` builds what `make image` builds."""
    path = BUILD_DIR / "versions.bake.json"
    BUILD_DIR.mkdir(exist_ok=True)
    text = json.dumps({"variable": {k: {"default": v} for k, v in pins.load().items()}}, indent=1) + "\n"
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)
    return path


def bake_cmd(profile: str, *args: str) -> list[str]:
    cmd = ["docker", "buildx", "bake"]
    for f in profile_files(profile):
        cmd += ["-f", f]
    return [*cmd, "-f", os.path.relpath(pins_file(), REPO_ROOT), *args]


def print_graph(profile: str, targets: list[str], env: dict[str, str] | None = None) -> str:
    """`bake --print` of the targets (JSON text); without env, the sources are named but not prepared."""
    env = env or environment(profile, os.environ.get("TAG", "latest"), prepare=False)
    out = subprocess.run(bake_cmd(profile, "--print", *targets), cwd=REPO_ROOT, env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise UserError(f"bake --print failed: {out.stderr.strip().splitlines()[-1]}")
    return out.stdout


def check_disk(path: Path = REPO_ROOT, need_gb: float = MIN_FREE_GB) -> None:
    free = shutil.disk_usage(path).free / 2**30
    docker_root = Path("/var/lib/docker")
    if docker_root.exists():
        free = min(free, shutil.disk_usage(docker_root).free / 2**30)
    if free < need_gb:
        raise UserError(f"only {free:.1f} GiB free, a build needs {need_gb:.0f} GiB; free disk space "
                        "(e.g. `docker builder prune`) and retry")


def check_production_base(pin: dict[str, str]) -> None:
    if not DIGEST.match(pin["ROCM_BASE_DIGEST"]):
        raise UserError(f"ROCM_BASE_DIGEST={pin['ROCM_BASE_DIGEST']} is not a sha256 digest; run `make refresh-base` "
                        "on a host that can reach the registry and commit versions.env")
    ref = f"{pin['ROCM_BASE_IMAGE']}@{pin['ROCM_BASE_DIGEST']}"
    if sandbox_base.exists(ref):
        return
    try:
        ok = subprocess.run(["docker", "buildx", "imagetools", "inspect", ref], capture_output=True,
                            timeout=60).returncode == 0
    except subprocess.TimeoutExpired:
        ok = False
    if not ok:
        raise UserError(f"production base image {ref} is unreachable from this machine (no registry access); "
                        "build offline with `make image PROFILE=sandbox`")


def refresh_base(pin: dict[str, str], path: Path = pins.VERSIONS_FILE) -> str:
    """Resolve ROCM_BASE_IMAGE's tag to its manifest digest now and write it to versions.env."""
    ref = pin["ROCM_BASE_IMAGE"]
    out = subprocess.run(["docker", "buildx", "imagetools", "inspect", ref, "--format", "{{json .Manifest}}"],
                         capture_output=True, text=True)
    digest = json.loads(out.stdout or "{}").get("digest", "") if out.returncode == 0 else ""
    if not DIGEST.match(digest):
        raise UserError(f"cannot resolve {ref} (no registry access?); run `make refresh-base` where it is reachable")
    pins.set_value("ROCM_BASE_DIGEST", digest, path)
    return digest


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


def check_targets(profile: str, targets: list[str]) -> None:
    """Unknown TARGETS stop in one line before the engine, the lock or bake (bake --print names the problem)."""
    profile_files(profile)
    try:
        print_graph(profile, targets)
    except UserError:
        raise UserError(f"TARGETS={','.join(targets)}: not a target or group of bake.hcl; use e.g. "
                        "TARGETS=rocm_base,vllm (or leave it unset for the default group)") from None


@dataclass(frozen=True)
class Record:
    """One target as bake computes it (tags, labels): Python reads these facts, it does not rebuild them."""
    name: str
    tags: list[str]
    labels: dict[str, str]


def records(profile: str, targets: list[str], env: dict[str, str] | None = None) -> dict[str, Record]:
    """`bake --print` of the targets, keyed by target name; only targets that produce a tagged image."""
    graph = json.loads(print_graph(profile, targets, env))
    return {name: Record(name, t.get("tags", []), t.get("labels", {}))
            for name, t in graph["target"].items() if t.get("tags")}


def build(profile: str, targets: list[str] | None = None, tag: str = "latest",
          extra: list[str] | None = None) -> dict[str, list[str]]:
    """Build into a candidate tag, verify, then move the real tags. Returns the final tags by target name."""
    targets = targets or list(DEFAULT_TARGETS)
    check_names(tag, os.environ.get("IMAGE_PREFIX"))
    check_targets(profile, targets)
    pin = pins.load()
    pins.check_aiter_policy(pin)
    profile_files(profile)
    engine.require()
    check_disk()
    with build_lock():
        _untag(candidates())  # leftovers of a build killed too hard to clean up (SIGKILL)
        if profile == "production":
            engine.require_image_store()
            check_production_base(pin)
            aiter_guard.require_ref(pin["AITER_REPO"], pin["AITER_BRANCH"])
        else:
            sandbox_base.ensure(pin)
        candidate = f"candidate-{uuid.uuid4().hex[:10]}"
        env = environment(profile, candidate, pin)
        cand = records(profile, targets, env)
        # the tags the build moves to: bake computes them for TAG=tag, as it did the candidates
        final_of = records(profile, targets, {**env, "TAG": tag})
        cand_tags = [t for r in cand.values() for t in r.tags]
        # the build lands on candidate tags; real tags move only after every image built and passed its checks,
        # and candidates are removed whatever happens (failure, Ctrl-C, SIGTERM)
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            proc = subprocess.run(bake_cmd(profile, "--load", *(extra or []), *targets), cwd=REPO_ROOT, env=env)
            if proc.returncode != 0:
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


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def image_labels(ref: str) -> dict[str, str] | None:
    """The image's labels ({} when it has none); None when the engine does not have the image."""
    import json

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
