"""`make bench`: what the patch overlay buys, measured in ONE run on this machine (sandbox profile).

Builds, all with `bake --load` of the default targets under the tag `bench` (the user's tags never move):
  cold      no layer cache (`--no-cache`; pip's download cache mount stays warm, as on any build host)
  noop      the same again
  overlay   a new edit to the patch series, overlay mode (the default): only the thin patch layer rebuilds
  full      a new edit in `full` mode (patched before the wheel build, the upstream way), after a warm-up
            full build of the unedited series so that only the edit is measured
noop, overlay and full are the median of REPEAT runs (each overlay/full run with its own fresh edit).
Bytes: layers of the vllm image that the overlay edit changed vs the whole image (from `docker save`).
Prints a table and the ratios; writes build/bench.json and build/bench.png. Not a test: numbers, not verdicts.
"""

from __future__ import annotations

import difflib
import json
import shutil
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path
from statistics import median

from . import REPO_ROOT, UserError, bake, engine, patches, pins, sandbox_base

OUT = bake.BUILD_DIR / "bench"
REPEAT = 3
GOALS = {"patch_rebuild_speedup": (">=", 50.0), "noop_fraction": ("<=", 0.02), "changed_layer_fraction": ("<=", 0.01)}
EDITED = "vllm/model_executor/layers/mhc.py"


def edited_series(pin: dict[str, str], dest: Path) -> Path:
    """The pinned series plus one Python-only patch (a comment in mhc.py), as a user's small edit would be."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    series = patches.series(pin["VLLM_REF"])
    for p in series:
        shutil.copy(p, dest / p.name)
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp)
        (tree / Path(EDITED).parent).mkdir(parents=True)
        shutil.copy(bake.vllm_source(pin) / EDITED, tree / EDITED)
        patches.apply([p for p in series if EDITED in patches.touched_files(p)], tree)
        before = (tree / EDITED).read_text().splitlines(keepends=True)
    after = [*before, f"# bench edit {time.time_ns()}\n"]
    diff = difflib.unified_diff(before, after, f"a/{EDITED}", f"b/{EDITED}")
    (dest / f"{len(series) + 1:04d}-bench-edit.patch").write_text(f"diff --git a/{EDITED} b/{EDITED}\n" + "".join(diff))
    return dest


def timed_build(env: dict[str, str], *extra: str, series: Path | None = None, mode: str = "overlay") -> float:
    env = dict(env, PATCH_MODE=mode)
    sets: list[str] = []
    if series is not None:
        override, sets = bake.series_override(series)
        env.update(override)
    cmd = bake.bake_cmd("sandbox", "--load", "--progress=quiet", *extra, *sets, *bake.DEFAULT_TARGETS)
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    took = time.monotonic() - start
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["?"]
        raise UserError(f"bench build failed ({mode}): {tail[0]}")
    return took


def layer_sizes(ref: str, scratch: Path) -> dict[str, int]:
    """digest -> size of every layer of `ref`, read from the manifest in `docker save` output."""
    tar = scratch / "image.tar"
    subprocess.run(["docker", "save", "-o", str(tar), ref], check=True)
    try:
        with tarfile.open(tar) as tf:
            def blob(name: str) -> dict:
                return json.load(tf.extractfile(name))

            index = blob("index.json")
            desc = index["manifests"][0]
            node = blob("blobs/" + desc["digest"].replace(":", "/"))
            while "manifests" in node:  # an index (image + attestations): take the image manifest
                desc = next(m for m in node["manifests"]
                            if m.get("annotations", {}).get("vnd.docker.reference.type") != "attestation-manifest")
                node = blob("blobs/" + desc["digest"].replace(":", "/"))
            return {layer["digest"]: layer["size"] for layer in node["layers"]}
    finally:
        tar.unlink(missing_ok=True)


def chart(results: dict[str, float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = ["cold", "noop", "overlay", "full"]
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=100)
    bars = ax.bar(names, [results[n] for n in names], color=["#888", "#4a4", "#27c", "#c52"])
    ax.bar_label(bars, fmt="%.1f s")
    ax.set_ylabel("seconds (bake --load, this machine)")
    ax.set_title("sandbox builds: cold, no-op, patch edit (overlay vs full)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def run() -> dict:
    pin = pins.load()
    engine.require()
    bake.check_disk()
    OUT.mkdir(parents=True, exist_ok=True)
    with bake.build_lock():
        sandbox_base.ensure(pin)
        env = bake.environment("sandbox", "bench", pin)
        vllm_ref = f"{env.get('IMAGE_PREFIX', 'rocm-vllm')}/vllm:bench"
        secs = {"cold": timed_build(env, "--no-cache")}
        secs["noop"] = median(timed_build(env) for _ in range(REPEAT))
        before = layer_sizes(vllm_ref, OUT)
        secs["overlay"] = median(timed_build(env, series=edited_series(pin, OUT / f"edit-{i}")) for i in range(REPEAT))
        after = layer_sizes(vllm_ref, OUT)  # after the last edit: its layers vs the unedited image's
        timed_build(env, mode="full")  # warm-up: the unedited series in full mode
        secs["full"] = median(timed_build(env, series=edited_series(pin, OUT / f"edit-full-{i}"), mode="full")
                              for i in range(REPEAT))
    changed = sum(size for digest, size in after.items() if digest not in before)
    result = {
        "profile": "sandbox (stand-ins; the sandbox vLLM wheel compiles no kernels, so `full` here is far cheaper "
                   "than a ROCm build, where it recompiles vLLM's HIP kernels)",
        "repeat": REPEAT,
        "seconds": {k: round(v, 2) for k, v in secs.items()},
        "vllm_image_bytes": sum(after.values()),
        "changed_layer_bytes": changed,
        "patch_rebuild_speedup": round(secs["full"] / secs["overlay"], 2),
        "noop_fraction": round(secs["noop"] / secs["cold"], 4),
        "changed_layer_fraction": round(changed / sum(after.values()), 6),
        "goals": {k: f"{op} {v}" for k, (op, v) in GOALS.items()},
    }
    (bake.BUILD_DIR / "bench.json").write_text(json.dumps(result, indent=2) + "\n")
    chart(secs, bake.BUILD_DIR / "bench.png")
    return result


def report(r: dict) -> str:
    rows = [f"{'build':<10}{'seconds':>10}"] + [f"{k:<10}{v:>10.1f}" for k, v in r["seconds"].items()]
    rows.append(f"vllm image {r['vllm_image_bytes'] / 2**20:.0f} MiB; layers changed by the patch edit "
                f"{r['changed_layer_bytes'] / 2**10:.1f} KiB")
    for key, (op, goal) in GOALS.items():
        met = r[key] >= goal if op == ">=" else r[key] <= goal
        rows.append(f"{key:<24}{r[key]:>12}   goal {op} {goal}  {'met' if met else 'NOT met'}")
    return "\n".join(rows) + f"\nprofile: {r['profile']}\nwritten: build/bench.json, build/bench.png"
