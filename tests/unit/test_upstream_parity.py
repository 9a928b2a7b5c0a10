"""Production parity, read from upstream's own files: docker/Dockerfile.rocm_base and docker/Dockerfile.rocm in the
pinned, sha256-checked vLLM sdist, against versions.env and our Dockerfiles (dockerfile-parse; shell through
run_installs' shlex reading), with every deliberate difference declared in docker/upstream-parity.toml."""

from __future__ import annotations

import shlex
import tomllib
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser

from rocm_images import REPO_ROOT
from rocm_images.host import graph, run_installs

PARITY = tomllib.loads((REPO_ROOT / "docker" / "upstream-parity.toml").read_text())
NOT_PINS = ("SCCACHE_", "USE_SCCACHE")


def structure(path: Path) -> list[dict]:
    with path.open("rb") as f:
        return DockerfileParser(fileobj=f).structure


def global_args(path: Path) -> dict[str, str]:
    """ARG defaults before the first FROM (upstream's pins), trailing comments dropped."""
    out: dict[str, str] = {}
    for ins in structure(path):
        if ins["instruction"] == "FROM":
            break
        if ins["instruction"] == "ARG" and "=" in ins["value"]:
            name, value = shlex.split(ins["value"], comments=True)[0].split("=", 1)
            out[name] = value
    return out


def stages(path: Path) -> dict[str, tuple[str, dict[str, str]]]:
    """stage -> (parent it is FROM, global ARG defaults expanded, the ENV it sets)."""
    out: dict[str, tuple[str, dict[str, str]]] = {}
    current = None
    defaults = global_args(path)
    for ins in structure(path):
        if ins["instruction"] == "FROM":
            words = ins["value"].split()
            current = words[-1] if len(words) == 3 else words[0]
            out[current] = (run_installs.expand(words[0], defaults, []), {})
        elif ins["instruction"] == "ENV" and current:
            value = ins["value"]
            if "=" in value.split()[0]:
                pairs = dict(w.split("=", 1) for w in shlex.split(value))
            else:  # legacy `ENV NAME value`
                name, _, rest = value.partition(" ")
                pairs = {name: rest.strip()}
            out[current][1].update(pairs)
    return out


def chain_env(graph: dict[str, tuple[str, dict[str, str]]], stage: str) -> dict[str, str]:
    env: dict[str, str] = {}
    while stage in graph:
        parent, own = graph[stage]
        env = {**own, **env}
        stage = parent
    return env


@pytest.fixture(scope="module")
def upstream(pin) -> Path:
    return graph.vllm_source(pin) / "docker"


OURS = REPO_ROOT / "docker"


def pin_mismatches(upstream_dir: Path, pin: dict[str, str]) -> list[str]:
    """One line per upstream pin that versions.env neither matches nor declares as a deviation."""
    keys, deviations = PARITY["pins"]["keys"], PARITY["pins"]["deviations"]
    problems = []
    for name, value in global_args(upstream_dir / "Dockerfile.rocm_base").items():
        if name.startswith(NOT_PINS) or name in deviations:
            continue
        key = keys.get(name, name)
        if pin.get(key) != value:
            problems.append(f"{key}: versions.env {pin.get(key)!r}, upstream {name}={value!r}")
    for name, key in PARITY["pins"]["rocm"].items():
        theirs = global_args(upstream_dir / "Dockerfile.rocm").get(name)
        if theirs != pin.get(key):
            problems.append(f"{key}: versions.env {pin.get(key)!r}, upstream Dockerfile.rocm {name}={theirs!r}")
    base_env = stages(upstream_dir / "Dockerfile.rocm_base")["base"][1]
    for name, key in PARITY["pins"]["env"].items():
        if base_env.get(name) != pin[key]:
            problems.append(f"{key}: versions.env {pin[key]!r}, upstream ENV {name}={base_env.get(name)!r}")
    for name in deviations:
        if global_args(upstream_dir / "Dockerfile.rocm_base").get(name) == pin.get(keys.get(name, name)):
            problems.append(f"{name}: declared a deviation but equals upstream; drop the declaration")
    return problems


def test_every_upstream_pin_equals_versions_env_or_is_a_declared_deviation(upstream, pin):
    assert pin_mismatches(upstream, pin) == []


def test_a_hand_edited_pin_is_named(upstream, pin):
    """The check above can fail, and says which pin."""
    edited = {**pin, "TRITON_BRANCH": "deadbeef"}
    assert pin_mismatches(upstream, edited) == [
        f"TRITON_BRANCH: versions.env 'deadbeef', upstream TRITON_BRANCH={pin['TRITON_BRANCH']!r}"]


@pytest.mark.parametrize("upstream_file,table", [("Dockerfile.rocm_base", "rocm_base"), ("Dockerfile.rocm", "rocm")])
def test_every_upstream_stage_has_a_counterpart(upstream, upstream_file, table):
    mapped, deviations = PARITY["stages"][table], PARITY["stages"]["deviations"]
    theirs = set(stages(upstream / upstream_file))
    assert theirs - set(mapped) - set(deviations) == set(), "upstream stages neither mapped nor declared"
    assert set(mapped) <= theirs, "mapped stages upstream no longer has"
    for ours in (o for v in mapped.values() for o in _as_list(v)):
        file, stage = ours.split(":")
        assert stage in stages(OURS / file), f"{ours} does not exist"


def test_runtime_env_of_the_final_image(upstream):
    """Every ENV upstream's final image carries (its stage chain through rocm_base) is set on our vllm image's
    chain, or declared a deviation."""
    theirs = {**chain_env(stages(upstream / "Dockerfile.rocm_base"), "final"),
              **chain_env(stages(upstream / "Dockerfile.rocm"), "final")}
    ours = {**chain_env(stages(OURS / "Dockerfile.rocm_base"), "rocm_base_core"),
            **chain_env(stages(OURS / "Dockerfile.vllm"), "vllm-openai")}
    missing = set(theirs) - set(ours) - set(PARITY["env"]["deviations"])
    assert missing == set()
    for flag in ("HIP_FORCE_DEV_KERNARG", "SAFETENSORS_FAST_GPU", "HSA_ENABLE_IPC_MODE_LEGACY",
                 "TOKENIZERS_PARALLELISM", "LD_LIBRARY_PATH", "HSA_NO_SCRATCH_RECLAIM"):
        assert ours[flag] == theirs[flag], flag


def test_make_print_lists_one_target_per_upstream_component(pin):
    """`make print PROFILE=production` shows each component stage as its own bake target."""
    import json

    printed = json.loads(graph.print_graph("production", ["components"]))
    components = {_as_list(ours)[0].split(":")[1] for theirs, ours in PARITY["stages"]["rocm_base"].items()
                  if theirs.startswith("build_")}
    assert {t["target"] for t in printed["target"].values()} == components


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


UPSTREAM_FILES = {"rocm_base": "Dockerfile.rocm_base", "rocm": "Dockerfile.rocm"}


def run_gaps(upstream_dir: Path, pin: dict[str, str], ours_dir: Path = OURS,
             declared: dict[str, str] | None = None) -> list[str]:
    """One line per item an upstream RUN installs (apt, pip, requirement file, clone, checkout) that the mapped
    stages of ours do not install and no declaration accounts for; and per declaration that accounts for nothing."""
    declared = PARITY["run"]["deviations"] if declared is None else declared
    problems, used = [], set()
    for table, upstream_file in UPSTREAM_FILES.items():
        theirs = run_installs.stage_installs(upstream_dir / upstream_file, {})
        for stage, mapped in PARITY["stages"][table].items():
            ours = run_installs.Installs()
            for ref in _as_list(mapped):
                file, name = ref.split(":")
                ours.merge(run_installs.chain_installs(ours_dir / file, name, pin, REPO_ROOT))
            for kind, items in theirs[stage].items.items():
                for item in sorted(items):
                    key = f"{upstream_file}:{stage}:{kind}:{item}"
                    if item in ours.items[kind]:
                        if key in declared:
                            used.add(key)
                            problems.append(f"{key}: declared, but ours installs it; drop the declaration")
                    elif key in declared:
                        used.add(key)
                    else:
                        problems.append(f"{key}: upstream installs it, {mapped} does not, and it is not declared")
    problems += [f"{key}: declared, but upstream does not install it" for key in sorted(set(declared) - used)]
    return problems


def test_every_upstream_install_has_a_counterpart_or_a_declaration(upstream, pin):
    assert run_gaps(upstream, pin) == []


def test_a_dropped_build_dependency_is_named(upstream, pin, tmp_path):
    """Planted: libpci-dev (mori's build needs pci/pci.h) removed from our base stage."""
    ours = tmp_path / "docker"
    ours.mkdir()
    for f in OURS.glob("Dockerfile.*"):
        (ours / f.name).write_text(f.read_text())
    rocm_base = ours / "Dockerfile.rocm_base"
    rocm_base.write_text(rocm_base.read_text().replace(" libpci-dev ", " ", 1))
    assert run_gaps(upstream, pin, ours) == [
        "Dockerfile.rocm_base:base:apt:libpci-dev: upstream installs it, Dockerfile.rocm_base:clr_hotfix does not, "
        "and it is not declared"]


def test_a_deleted_declaration_is_named(upstream, pin):
    declared = dict(PARITY["run"]["deviations"])
    del declared["Dockerfile.rocm_base:base:apt:sudo"]
    assert run_gaps(upstream, pin, declared=declared) == [
        "Dockerfile.rocm_base:base:apt:sudo: upstream installs it, Dockerfile.rocm_base:clr_hotfix does not, "
        "and it is not declared"]


def test_a_stale_declaration_is_named(upstream, pin):
    declared = {**PARITY["run"]["deviations"], "Dockerfile.rocm:final:apt:cowsay": "never installed upstream"}
    assert run_gaps(upstream, pin, declared=declared) == [
        "Dockerfile.rocm:final:apt:cowsay: declared, but upstream does not install it"]
