"""The bake graph as bake computes it: the profile files, the environment and pins file bake reads, and
`bake --print` read back as records keyed by target (tags, labels). Python reads these facts; it does not
rebuild them."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import re
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .. import REPO_ROOT, UserError
from ..stages import patches, pins
from . import aiter_mirror, ck_mirror, sandbox_base, sdist, torch_wheel

PROFILES = {"production": ["bake.hcl"], "sandbox": ["bake.hcl", "bake.sandbox.hcl"]}
BUILD_DIR = REPO_ROOT / "build"
DEFAULT_TARGETS = ("default",)
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


# where CA bundles live: Debian/Ubuntu, then RHEL/Fedora
CA_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")


def host_ca(candidates: tuple[str, ...] = CA_BUNDLES) -> str:
    """The CA bundle builds get as the `hostca` secret (TLS-intercepting proxies): SSL_CERT_FILE, else OpenSSL's
    default file, else the first bundle of this machine's distribution; an empty file when there is none (every
    step then uses the image's own CAs)."""
    for cand in (os.environ.get("SSL_CERT_FILE", ""), ssl.get_default_verify_paths().cafile or "", *candidates):
        if cand and Path(cand).is_file():
            return cand
    return os.devnull


# bake variables that the profile's own file sets (bake.hcl, bake.sandbox.hcl), never a shell variable
PROFILE_SET = ("GZIP_LEVEL",)


def environment(profile: str, tag: str, pin: dict[str, str] | None = None, prepare: bool = True) -> dict[str, str]:
    """The variables bake reads besides the pins file: the one-build pin overrides (announced) and the build's own
    facts (profile, tag, commit, patch series, sources). prepare=False names the vLLM source without fetching or
    unpacking it (for --print)."""
    pin = pin or pins.load()
    # the pins reach bake through the variables file bake_cmd passes; a stray shell variable of the same name
    # must not win over it, except for the pins a user may override for one build (announced, labelled)
    env = {k: v for k, v in os.environ.items() if k not in pin and k not in PROFILE_SET}
    env.update({k: v for k, v in pins.with_overrides(pin).items() if v != pin[k]})
    src = vllm_source(pin) if prepare else BUILD_DIR / "src" / f"vllm-{pin['VLLM_VERSION']}"
    env.update(
        VLLM_SRC_DIR=os.path.relpath(src, REPO_ROOT),
        PROFILE=profile, TAG=tag, GIT_SHA=git_sha(),
        CREATED=commit_time(),
        PATCH_SERIES_SHA256=series_sha256(patches.series(pin["VLLM_REF"])),
        PATCH_MODE=os.environ.get("PATCH_MODE", "auto"),
        HOST_CA=os.environ.get("HOST_CA") or host_ca(),
    )
    if profile == "sandbox":
        env.update(SANDBOX_BASE_IMAGE=sandbox_base.image_ref(pin),
                   SANDBOX_COMPILER_BASE_IMAGE=sandbox_base.image_ref(pin, compiler=True))
        env.update(torch_wheel.prepare(pin) if prepare else torch_wheel.named())
        env.update(aiter_mirror.prepare(pin) if prepare else aiter_mirror.named())
        env.update(ck_mirror.prepare(pin) if prepare else ck_mirror.named())
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
    try:
        out = subprocess.run(bake_cmd(profile, "--print", *targets), cwd=REPO_ROOT, env=env,
                             capture_output=True, text=True)
    except FileNotFoundError:
        raise UserError("the docker CLI is not on PATH; run `make engine` (installs Docker Engine + buildx)") from None
    if out.returncode != 0:
        raise _bake_failure(out.stderr)
    return out.stdout


class UnknownTarget(UserError):
    """bake has no target or group of that name."""


def _bake_failure(stderr: str) -> UserError:
    """What a failed `bake --print` means, told apart: buildx missing, a target bake lacks, or a file it cannot
    read (bake names the file, line and column)."""
    last = (stderr.strip().splitlines() or ["no output"])[-1].removeprefix("ERROR: ").strip()
    if subprocess.run(["docker", "buildx", "version"], capture_output=True).returncode != 0:
        return UserError("docker buildx is not installed (`docker buildx version` fails); run `make engine`, "
                         "which installs it")
    if last.startswith("failed to find target"):
        return UnknownTarget(last)
    return UserError(f"bake cannot read its files: {last}; fix that file (`git diff -- '*.hcl'` shows local edits)")


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


def with_contexts(profile: str, targets: list[str], env: dict[str, str] | None = None) -> list[str]:
    """The targets and every target they take as a `target:` context, as bake resolves them: requested together,
    the context targets keep their own output (bake.hcl _common: the cache only) instead of becoming untagged
    images."""
    return list(json.loads(print_graph(profile, targets, env))["target"])


NAMES_TARGET = "label-names"  # bake.hcl: not an image, the label name of every role


@functools.cache
def label_names() -> dict[str, str]:
    """Every label's name by role (e.g. "profile"), as bake.hcl's label_names() says: code and tests name a label
    by its role, so renaming one is one line in bake.hcl."""
    # no variable changes a name: the plain environment will do
    printed = json.loads(print_graph("production", [NAMES_TARGET], dict(os.environ)))
    return printed["target"][NAMES_TARGET]["labels"]


def check_targets(profile: str, targets: list[str], env: dict[str, str] | None = None) -> dict[str, Record]:
    """The targets' records; unknown TARGETS stop in one line before the engine, the lock or bake, and so does
    the label-names target, which is not an image (a missing buildx or a broken bake file has its own line)."""
    profile_files(profile)
    unknown = UserError(f"TARGETS={','.join(targets)}: not a target or group of bake.hcl; use e.g. "
                        "TARGETS=rocm_base,vllm (or leave it unset for the default group)")
    if NAMES_TARGET in targets:
        raise unknown
    try:
        return records(profile, targets, env)
    except UnknownTarget:
        raise unknown from None
