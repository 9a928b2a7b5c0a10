"""versions.env: the one file of pins. Parse strictly, check policy."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from .. import REPO_ROOT, UserError

VERSIONS_FILE = REPO_ROOT / "versions.env"

REQUIRED_KEYS = (
    "ROCM_BASE_IMAGE", "ROCM_BASE_DIGEST", "PYTHON_VERSION", "GPU_ARCHS", "PYTORCH_ROCM_ARCH", "PYTORCH_REPO",
    "PYTORCH_BRANCH", "PYTORCH_VISION_REPO", "PYTORCH_VISION_BRANCH", "PYTORCH_AUDIO_REPO", "PYTORCH_AUDIO_BRANCH",
    "TRITON_REPO", "TRITON_BRANCH", "TRITON_CHERRY_PICKS", "FA_REPO", "FA_BRANCH", "MORI_REPO", "MORI_BRANCH",
    "CLR_REPO", "CLR_COMMIT", "NIC_BACKEND", "AINIC_VERSION", "BNXT_ROCELIB_VERSION", "AITER_REPO", "AITER_BRANCH",
    "AITER_COMMIT", "AITER_REQUIRED_FIX", "AITER_MIN_VERSION", "AITER_CONTROL_BRANCH",
    "VLLM_REF", "VLLM_VERSION", "VLLM_SDIST_SHA256", "TILELANG_VERSION", "TVM_FFI_VERSION", "SANDBOX_SUITE",
    "SANDBOX_PYTHON_VERSION", "SANDBOX_TORCH_VERSION", "SANDBOX_TORCH_INDEX", "SANDBOX_TRITON_VERSION",
    "SANDBOX_COMPILER_SUITE", "SANDBOX_COMPILER_APT_SUITE", "SANDBOX_HIPCC_VERSION", "SANDBOX_HIP_DEV_VERSION",
    "SANDBOX_ROCM_DEVICE_LIBS_VERSION", "SANDBOX_ROCM_PRIMS_VERSION", "SANDBOX_CLANG_VERSION", "CK_REPO", "CK_COMMIT",
)
# pins with a fixed set of values (NIC_BACKEND: images/vllm/install-nic.sh's cases)
CHOICES = {"NIC_BACKEND": ("all", "ainic", "bnxt", "none")}
_LINE = re.compile(r"^([A-Z][A-Z0-9_]*)=(\S*)\s*(?:#.*)?$")
_TAG = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:(?P<kind>\.post|-rc)(?P<n>\d+))?$")
# a release candidate sorts below its release, a post-release above it
_KIND_RANK = {"-rc": -1, None: 0, ".post": 1}
_SHA = re.compile(r"^[0-9a-f]{40}$")


def load(path: Path = VERSIONS_FILE) -> dict[str, str]:
    """Return the pins; any malformed, duplicate or missing key is a one-line UserError."""
    if not path.is_file():
        raise UserError(f"{path}: not found; restore it with `git checkout -- {path.name}`")
    pins: dict[str, str] = {}
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _LINE.match(line)
        if not m:
            raise UserError(f"{path.name}:{n}: malformed line {raw!r}; expected KEY=value  # why")
        key, value = m.groups()
        if key in pins:
            raise UserError(f"{path.name}:{n}: duplicate key {key}; keep exactly one line for it")
        pins[key] = value
    missing = [k for k in REQUIRED_KEYS if not pins.get(k)]
    if missing:
        raise UserError(f"{path.name}: missing key(s) {', '.join(missing)}; add them (see docs/development.md 'Pins')")
    for key, allowed in CHOICES.items():
        if pins[key] not in allowed:
            raise UserError(f"{path.name}: {key}={pins[key]} is not one of {', '.join(allowed)}; pick one")
    if not _SHA.match(pins["CK_COMMIT"]):  # the sandbox checks it out of a mirror: no branch, no short id
        raise UserError(f"{path.name}: CK_COMMIT={pins['CK_COMMIT']} is not a full 40-hex commit id")
    return pins


def tag_version(ref: str) -> tuple[int, ...] | None:
    """v1.2.3.post4 -> (1, 2, 3, 1, 4), v1.2.3-rc1 -> (1, 2, 3, -1, 1): numeric, so v1.2.9 < v1.2.10 and
    v1.3.0-rc1 < v1.3.0 < v1.3.0.post1; None for a ref that is not a release tag (branch or sha)."""
    m = _TAG.match(ref)
    if not m:
        return None
    major, minor, patch = (int(g) for g in m.group(1, 2, 3))
    return major, minor, patch, _KIND_RANK[m.group("kind")], int(m.group("n") or 0)


def check_aiter_policy(pins: dict[str, str]) -> None:
    """AITER_BRANCH must be a release >= AITER_MIN_VERSION, with its commit and the required fix recorded."""
    branch, floor = pins["AITER_BRANCH"], pins["AITER_MIN_VERSION"]
    have, need = tag_version(branch), tag_version(floor)
    if need is None:
        raise UserError(f"AITER_MIN_VERSION={floor} is not a release tag like v1.2.3")
    if have is None:
        raise UserError(f"AITER_BRANCH={branch} is not a release tag; pin a tag >= {floor} (e.g. {floor})")
    if have < need:
        raise UserError(
            f"AITER_BRANCH={branch} is older than {floor}: it lacks the mhc sqrsum race fix "
            f"{pins['AITER_REQUIRED_FIX'][:7]}; set AITER_BRANCH={floor} or newer"
        )
    for key in ("AITER_COMMIT", "AITER_REQUIRED_FIX"):
        if not _SHA.match(pins[key]):
            raise UserError(f"{key}={pins[key]} is not a full 40-hex commit id")


# pins a user may override for one build from the environment (`make image GPU_ARCHS=gfx942`): the override is
# announced and lands in the images' gpu-archs label (bake.hcl label_names())
OVERRIDABLE = ("GPU_ARCHS",)


def with_overrides(pins: dict[str, str], environ: dict[str, str] | None = None) -> dict[str, str]:
    environ = os.environ if environ is None else environ
    out = dict(pins)
    for key in OVERRIDABLE:
        value = environ.get(key, "")
        if value and value != pins[key]:
            print(f"{key}={value} (overrides versions.env {pins[key]}; recorded in the image labels)", file=sys.stderr)
            out[key] = value
    return out


def set_value(key: str, value: str, path: Path = VERSIONS_FILE) -> None:
    """Rewrite one pin in place, keeping its comment."""
    lines = path.read_text().splitlines(keepends=True)
    for i, raw in enumerate(lines):
        m = _LINE.match(raw.strip())
        if m and m.group(1) == key:
            comment = raw.split("#", 1)[1] if "#" in raw else ""
            lines[i] = f"{key}={value}" + (f"  #{comment}" if comment else "\n")
            path.write_text("".join(lines))
            return
    raise UserError(f"{path.name}: no {key} line to update")


def as_env(pins: dict[str, str]) -> str:
    """Shell/Make-friendly KEY=value lines (what `make` includes)."""
    return "".join(f"{k}={v}\n" for k, v in pins.items())
