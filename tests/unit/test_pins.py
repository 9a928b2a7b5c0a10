"""versions.env: strict parsing, the AITER policy, and no version literal anywhere else."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from rocm_images import UserError
from rocm_images.stages import pins


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "versions.env"
    p.write_text(text)
    return p


def _good() -> str:
    return pins.VERSIONS_FILE.read_text()


def test_real_file_parses_with_every_key(pin):
    assert set(pins.REQUIRED_KEYS) <= set(pin)
    assert pin["AITER_BRANCH"] == "v0.1.14" and pin["VLLM_REF"] == "v0.22.1"


def test_missing_key(tmp_path):
    text = "\n".join(line for line in _good().splitlines() if not line.startswith("AITER_COMMIT="))
    with pytest.raises(UserError, match="missing key.*AITER_COMMIT"):
        pins.load(_write(tmp_path, text))


def test_duplicate_key(tmp_path):
    with pytest.raises(UserError, match="duplicate key VLLM_REF"):
        pins.load(_write(tmp_path, _good() + "VLLM_REF=v0.23.0  # again\n"))


def test_malformed_line(tmp_path):
    with pytest.raises(UserError, match=r"versions.env:\d+: malformed line"):
        pins.load(_write(tmp_path, _good() + "this is not a pin\n"))


def test_a_nic_backend_the_install_script_does_not_know_is_refused(tmp_path, repo):
    bad = tmp_path / "versions.env"
    bad.write_text((repo / "versions.env").read_text().replace("NIC_BACKEND=all ", "NIC_BACKEND=mellanox ", 1))
    with pytest.raises(UserError, match=r"^versions.env: NIC_BACKEND=mellanox is not one of all, ainic, bnxt, none; "
                                        r"pick one$"):
        pins.load(bad)


def test_install_nic_knows_every_choice_and_refuses_others(repo):
    """The script's own cases are the choices pins.load allows; an unknown one exits 2 before installing."""
    script = repo / "images" / "vllm" / "install-nic.sh"
    for choice in pins.CHOICES["NIC_BACKEND"]:
        assert f"  {choice})" in script.read_text()
    proc = subprocess.run(["sh", str(script), "mellanox", "1", "2"], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.strip() == "NIC_BACKEND=mellanox is not one of none, ainic, bnxt, all"
    none = subprocess.run(["sh", str(script), "none", "1", "2"], capture_output=True, text=True)
    assert none.returncode == 0 and none.stdout.strip() == "NIC_BACKEND=none: mori's NIC providers installed"


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="not found"):
        pins.load(tmp_path / "versions.env")


@pytest.mark.parametrize("branch", ["v0.1.13", "v0.1.13.post1", "v0.1.9", "v0.1.14-rc0", "v0.1.14-rc1", "v0.0.99"])
def test_aiter_older_than_floor_is_refused(pin, branch):
    with pytest.raises(UserError, match=f"AITER_BRANCH={branch} is older than v0.1.14.*b639cb6"):
        pins.check_aiter_policy({**pin, "AITER_BRANCH": branch})


@pytest.mark.parametrize("branch", ["v0.1.14", "v0.1.14.post1", "v0.1.15", "v0.1.100", "v0.2.0", "v0.10.0",
                                    "v1.0.0", "v1.0.0-rc1"])
def test_aiter_floor_or_newer_is_accepted(pin, branch):
    pins.check_aiter_policy({**pin, "AITER_BRANCH": branch})


@pytest.mark.parametrize("older,newer", [("v0.1.14-rc1", "v0.1.14"), ("v0.1.14-rc1", "v0.1.14-rc2"),
                                         ("v0.1.14", "v0.1.14.post1"), ("v0.1.9", "v0.1.10"), ("v0.9.9", "v0.10.0"),
                                         ("v0.1.14.post9", "v0.1.15-rc0")])
def test_release_order_is_numeric_with_candidates_below_and_posts_above(older, newer):
    assert pins.tag_version(older) < pins.tag_version(newer)


def test_aiter_branch_name_is_refused(pin):
    with pytest.raises(UserError, match="not a release tag"):
        pins.check_aiter_policy({**pin, "AITER_BRANCH": "main"})


def test_fix_commit_recorded(pin):
    assert pin["AITER_REQUIRED_FIX"] == "b639cb63bcac4672dce33a731fad042a65cb3649"
    with pytest.raises(UserError, match="AITER_REQUIRED_FIX=b639cb6 is not a full"):
        pins.check_aiter_policy({**pin, "AITER_REQUIRED_FIX": "b639cb6"})


# Values that are versions (not names or paths): each may appear only in versions.env.
VERSION_KEYS = ("ROCM_BASE_IMAGE", "PYTORCH_BRANCH", "PYTORCH_VISION_BRANCH", "TRITON_BRANCH", "FA_BRANCH",
                "MORI_BRANCH", "PYTORCH_AUDIO_BRANCH", "AITER_BRANCH", "AITER_CONTROL_BRANCH", "AITER_COMMIT",
                "VLLM_SDIST_SHA256", "TILELANG_VERSION", "VLLM_VERSION", "SANDBOX_TORCH_VERSION", "TVM_FFI_VERSION",
                "CLR_COMMIT", "AINIC_VERSION", "BNXT_ROCELIB_VERSION", "SANDBOX_TRITON_VERSION")
# Where a version may legitimately be spelled out: the pins, docs that explain them, the patch series
# (named by the vLLM ref it targets), stand-in README text and the aiter contract (it names the tag it was read
# from; tests/unit/test_aiter_contract.py ties that to AITER_BRANCH), and the parity declarations, which name what
# upstream's files install (tests/unit/test_upstream_parity.py fails when upstream no longer does).
ALLOWED = ("versions.env", "README.md", "docs/", "images/vllm/patches/", "images/rocm_base/aiter-mhc-contract.json",
           "docker/upstream-parity.toml", "tests/", "examples/")


def test_versions_live_only_in_versions_env(pin, repo):
    files = subprocess.run(["git", "-C", str(repo), "ls-files", "--cached", "--others", "--exclude-standard"],
                           capture_output=True, text=True, check=True).stdout.split()
    offenders = []
    for rel in files:
        if rel.startswith(ALLOWED) or not (repo / rel).is_file():
            continue
        text = (repo / rel).read_text(errors="ignore")
        offenders += [f"{rel}: {pin[k]}" for k in VERSION_KEYS if pin[k] in text]
    assert offenders == []


def _uses(key: str, repo: Path) -> list[str]:
    """Where a pin is read: a bake expression (not just its declaration), a Dockerfile ARG the bake passes,
    or Python/Make code that names it."""
    found = []
    for f in ("bake.hcl", "bake.sandbox.hcl"):
        text = re.sub(rf'variable "{key}" {{[^}}]*}}', "", (repo / f).read_text())
        if re.search(rf"\b{key}\b", text):
            found.append(f)
    for f in [*(repo / "src" / "rocm_images").rglob("*.py"), repo / "Makefile"]:
        if f.name != "pins.py" and re.search(rf"\b{key}\b", f.read_text()):
            found.append(f.name)
    return found


def test_nothing_pinned_is_unused(repo, pin):
    assert [k for k in pin if not _uses(k, repo)] == []


def test_every_pin_bake_passes_as_an_arg_is_used_by_a_dockerfile(repo, pin):
    """An ARG declared but never expanded is a pin that changes nothing."""
    text = "".join(f.read_text() for f in (repo / "docker").glob("Dockerfile.*"))
    bake_args = set(re.findall(r"^\s+([A-Z][A-Z0-9_]+)\s+=\s", (repo / "bake.hcl").read_text(), re.M))
    unused = [k for k in pin if k in bake_args and not re.search(r"\$\{?" + k + r"\b", text)]
    assert unused == []


def test_an_unused_pin_is_caught(repo, pin):
    assert _uses("NOT_A_REAL_PIN", repo) == []
