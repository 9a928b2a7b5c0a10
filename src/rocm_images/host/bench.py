"""`make bench`: what the patch overlay buys, measured in ONE run on this machine (sandbox profile).

Builds of the default targets under the tag `bench` (the user's tags never move), `bake --load` but the first:
  cold      no layer cache (`--no-cache`; pip's download cache mount stays warm, as on any build host), loaded
            with uncompressed layers so that the cold-node step below compresses from scratch
  noop      the same again
  overlay   a new edit to the patch series, overlay mode (the default): only the thin patch layer rebuilds
  full      a new edit in `full` mode (patched before the wheel build, the upstream way), after a warm-up
            full build of the unedited series so that only the edit is measured
noop, overlay and full are the median of REPEAT runs (each overlay/full run with its own fresh edit).
Bytes: layers of the vllm image that the overlay edit changed vs the whole image (from `docker save`).

Edit to cluster, per mode (the same edit in both): the unedited image of that mode is pushed to a loopback
registry first (what the cluster already runs); then the edited image's changed layer bytes, the seconds of
`docker push` of it, and a node's pull: a client that already holds the previous image's blobs fetches the new
manifest and the blobs it lacks over HTTP (what `docker pull` transfers; unpacking is not included).
To a cold node, per compression (gzip, zstd) of the vllm image right after the cold build: export + compress
seconds, push seconds, bytes in the registry, a second dockerd's (empty store) pull + unpack and first `docker run`
(cold_pull_speedup_zstd, push_compress_speedup_zstd, registry_bytes_ratio_zstd).
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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from statistics import median
from typing import Any

from .. import REPO_ROOT, UserError
from ..stages import patches, pins
from . import cold_node, compression, engine, graph, local_registry, preflight, sandbox_base, transaction
from .manifest import MANIFEST_TYPES, image_manifest

OUT = graph.BUILD_DIR / "bench"
REPEAT = 3
GOALS = {"patch_rebuild_speedup": (">=", 50.0), "noop_fraction": ("<=", 0.02), "changed_layer_fraction": ("<=", 0.01),
         "cold_pull_speedup_zstd": (">=", 2.0), "push_compress_speedup_zstd": (">=", 5.0),
         "registry_bytes_ratio_zstd": ("<=", 1.0)}
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
        touching = [p for p in series if EDITED in patches.touched_files(p)]
        for rel in {f for p in touching for f in patches.touched_files(p)}:  # every file those patches change
            (tree / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(graph.vllm_source(pin) / rel, tree / rel)
        patches.apply(touching, tree)
        before = (tree / EDITED).read_text().splitlines(keepends=True)
    after = [*before, f"# bench edit {time.time_ns()}\n"]
    diff = difflib.unified_diff(before, after, f"a/{EDITED}", f"b/{EDITED}")
    (dest / f"{len(series) + 1:04d}-bench-edit.patch").write_text(f"diff --git a/{EDITED} b/{EDITED}\n" + "".join(diff))
    return dest


def timed_build(env: dict[str, str], *extra: str, series: Path | None = None, mode: str = "overlay",
                output: str = "load", targets: tuple[str, ...] = graph.DEFAULT_TARGETS) -> float:
    """Seconds of one bake of targets: `--load`, another output for every target, or ("") bake.hcl's own."""
    env = dict(env, PATCH_MODE=mode)
    sets: list[str] = []
    if series is not None:
        override, sets = graph.series_override(series)
        env.update(override)
    load = ["--load"] if output == "load" else [f"--set=*.output={output}"] if output else []
    cmd = graph.bake_cmd("sandbox", *load, "--progress=quiet", *extra, *sets, *targets)
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

            node = image_manifest(blob("index.json"), lambda digest: blob("blobs/" + digest.replace(":", "/")))
            return {layer["digest"]: layer["size"] for layer in node["layers"]}
    finally:
        tar.unlink(missing_ok=True)


def changed_bytes(previous: dict[str, int], new: dict[str, int]) -> int:
    """Bytes of the layers in `new` that `previous` lacks: a changed layer counts once, a shared one not at all."""
    return sum(size for digest, size in new.items() if digest not in previous)


def _get(url: str, **kwargs: Any) -> Any:
    import requests

    resp = requests.get(url, timeout=600, **kwargs)
    resp.raise_for_status()
    return resp


def image_blobs(registry: str, repo: str, tag: str) -> dict[str, int]:
    """digest -> size of the config and layers of repo:tag's image manifest (the blobs a pull needs)."""
    def fetch(ref: str) -> dict:
        return _get(f"http://{registry}/v2/{repo}/manifests/{ref}", headers={"Accept": MANIFEST_TYPES}).json()

    node = image_manifest(fetch(tag), fetch)
    return {d["digest"]: d["size"] for d in [node["config"], *node["layers"]]}


def node_pull(registry: str, repo: str, tag: str, held: dict[str, int]) -> dict[str, float]:
    """A node holding `held` pulls repo:tag: seconds and bytes of the manifest and the blobs it lacks, and the
    bytes the manifest says changed."""
    start = time.monotonic()
    blobs = image_blobs(registry, repo, tag)
    need = [d for d in blobs if d not in held]
    got = 0
    for digest in need:
        with _get(f"http://{registry}/v2/{repo}/blobs/{digest}", stream=True) as r:
            got += sum(len(chunk) for chunk in r.iter_content(1 << 20))
    return {"seconds": round(time.monotonic() - start, 2), "bytes": got, "blobs": len(need),
            "changed_bytes": changed_bytes(held, blobs)}


def timed_push(local: str, dest: str) -> float:
    subprocess.run(["docker", "tag", local, dest], check=True)
    try:
        start = time.monotonic()
        proc = subprocess.run(["docker", "push", "-q", dest], capture_output=True, text=True)
        took = time.monotonic() - start
    finally:
        subprocess.run(["docker", "image", "rm", dest], capture_output=True)
    if proc.returncode != 0:
        raise UserError(f"bench push of {dest} failed: {(proc.stderr or proc.stdout).strip()[-200:]}")
    return took


def to_cluster(registry: str, mode: str, previous: str, edited: str, build_seconds: float) -> dict:
    """The previous image is what the cluster runs; the edit costs this much to push and for a node to pull."""
    repo = f"bench/{mode}"
    timed_push(previous, f"{registry}/{repo}:previous")
    held = image_blobs(registry, repo, "previous")
    push_s = timed_push(edited, f"{registry}/{repo}:edited")
    pulled = node_pull(registry, repo, "edited", held)
    return {"build_seconds": round(build_seconds, 2), "changed_layer_bytes": pulled["changed_bytes"],
            "push_seconds": round(push_s, 2), "node_pull_seconds": pulled["seconds"],
            "node_pull_bytes": pulled["bytes"], "node_pull_blobs": pulled["blobs"]}


# the cold build loads its layers uncompressed, so that each compression below pays its own compression
UNCOMPRESSED = "type=image,compression=uncompressed,force-compression=true,oci-mediatypes=true"


def production_gzip_level() -> str:
    """gzip's level as production pushes it (bake.hcl; the sandbox overlay lowers it for its never-pushed images):
    the bench's gzip is what clusters pull."""
    env = graph.environment("production", "latest", prepare=False)
    (out,) = json.loads(graph.print_graph("production", ["vllm"], env))["target"]["vllm"]["output"]
    return compression.output_attributes(out)["compression-level"]


def cold_pull(env: dict[str, str], registry: str, packed: str) -> dict:
    """The vllm image with `packed` layers: export + compress seconds (bake of the built image into that
    compression), push seconds, bytes in the registry, and a cold node's pull (download + unpack into an empty
    store: a second dockerd with its own data root) and first `docker run` there."""
    env = dict(env, COMPRESSION=packed, TAG=f"bench-{packed}")
    ref = graph.records("sandbox", ["vllm"], env)["vllm"].tags[0]
    export_s = timed_build(env, targets=("vllm",), output="")  # image_output with COMPRESSION: bake.hcl
    dest = f"{registry}/cold/vllm:{packed}"
    try:
        push_s = timed_push(ref, dest)
    finally:
        subprocess.run(["docker", "image", "rm", ref], capture_output=True)
    blobs = image_blobs(registry, "cold/vllm", packed)
    with tempfile.TemporaryDirectory(prefix="cold-node-", dir=graph.BUILD_DIR) as tmp, \
            cold_node.serve(Path(tmp)) as node:
        start = time.monotonic()
        cold_node.docker(node, "pull", "-q", dest)
        pull_s = time.monotonic() - start
        unpacked = int(cold_node.docker(node, "image", "inspect", "--format", "{{.Size}}", dest).stdout)
        start = time.monotonic()
        cold_node.docker(node, "run", "--rm", "--network", "none", dest, "true")
        run_s = time.monotonic() - start
    return {"export_compress_seconds": round(export_s, 2), "push_seconds": round(push_s, 2),
            "registry_bytes": sum(blobs.values()), "cold_pull_seconds": round(pull_s, 2),
            "first_run_seconds": round(run_s, 2), "unpacked_bytes": unpacked,
            "pull_seconds_per_gib_unpacked": round(pull_s / (unpacked / 2**30), 3),
            "registry_bytes_per_unpacked_byte": round(sum(blobs.values()) / unpacked, 4)}


def compression_ratios(cold: dict[str, dict]) -> dict[str, float]:
    g, z = cold["gzip"], cold["zstd"]
    return {"cold_pull_speedup_zstd": round(g["cold_pull_seconds"] / z["cold_pull_seconds"], 2),
            "push_compress_speedup_zstd": round(g["export_compress_seconds"] / z["export_compress_seconds"], 2),
            "registry_bytes_ratio_zstd": round(z["registry_bytes"] / g["registry_bytes"], 4)}


def _stacked(ax, rows: dict[str, dict], phases: tuple[tuple[str, str], ...], title: str) -> None:
    """One bar per row, its phases stacked in order."""
    names, bottom = list(rows), [0.0] * len(rows)
    for phase, color in phases:
        vals = [rows[n][phase] for n in names]
        ax.bar(names, vals, bottom=bottom, color=color, label=phase.replace("_seconds", ""))
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    ax.set_title(title)
    ax.set_ylabel("seconds")
    ax.legend()


def chart(results: dict[str, float], cluster: dict[str, dict], cold: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = ["cold", "noop", "overlay", "full"]
    fig, (ax, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 3.4), dpi=100)
    bars = ax.bar(names, [results[n] for n in names], color=["#888", "#4a4", "#27c", "#c52"])
    ax.bar_label(bars, fmt="%.1f s")
    ax.set_ylabel("seconds (bake --load, this machine)")
    ax.set_title("sandbox builds: cold, no-op, patch edit")
    _stacked(ax2, cluster, (("build_seconds", "#27c"), ("push_seconds", "#a6c"), ("node_pull_seconds", "#e93")),
             "one patch edit: build + push + one node's pull")
    _stacked(ax3, cold, (("export_compress_seconds", "#27c"), ("push_seconds", "#a6c"),
                         ("cold_pull_seconds", "#e93"), ("first_run_seconds", "#4a4")),
             "vllm image to a cold node: gzip vs zstd")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


@contextmanager
def _removed_after(refs: list[str]) -> Iterator[None]:
    """The bench's images (TAG=bench, several GB of uncompressed layers) go when the run ends, however it ends,
    and so does the build cache: its uncompressed blobs made dockerd 26 grow past 22 GiB and stall on the next
    cache export (CACHE=local, tests/distribution/test_cache.py, 2026-12-03), so the next build starts cold."""
    try:
        yield
    finally:
        subprocess.run(["docker", "image", "rm", *refs], capture_output=True)
        subprocess.run(["docker", "buildx", "prune", "--all", "--force"], capture_output=True)


def run() -> dict:
    pin = pins.load()
    engine.require()
    preflight.check_disk()
    OUT.mkdir(parents=True, exist_ok=True)
    # every bench build compresses gzip as production pushes it, not at the sandbox's never-pushed level
    env = dict(graph.environment("sandbox", "bench", pin), GZIP_LEVEL=production_gzip_level())
    # read before the block, so that a failing `bake --print` cannot hide the run's own error in the clean-up
    built = graph.records("sandbox", list(graph.DEFAULT_TARGETS), env)
    vllm_ref = built["vllm"].tags[0]
    with transaction.build_lock(), tempfile.TemporaryDirectory(prefix="bench-registry-") as store, \
            local_registry.serve(Path(store)) as registry, _removed_after([t for r in built.values() for t in r.tags]):
        sandbox_base.ensure(pin)
        secs = {"cold": timed_build(env, "--no-cache", output=UNCOMPRESSED)}
        cold = {packed: cold_pull(env, registry, packed) for packed in compression.CHOICES}
        secs["noop"] = median(timed_build(env) for _ in range(REPEAT))
        before = layer_sizes(vllm_ref, OUT)
        cluster = {}
        for mode in ("overlay", "full"):
            previous = f"{vllm_ref}-previous-{mode}"
            timed_build(env, mode=mode)  # the unedited series in this mode (a warm-up for full)
            subprocess.run(["docker", "tag", vllm_ref, previous], check=True)
            # the same edit text each run would be cached: every run gets its own, the median is reported
            secs[mode] = median(timed_build(env, series=edited_series(pin, OUT / f"edit-{mode}-{i}"), mode=mode)
                                for i in range(REPEAT))
            if mode == "overlay":
                after = layer_sizes(vllm_ref, OUT)  # after the last edit: its layers vs the unedited image's
            try:
                cluster[mode] = to_cluster(registry, mode, previous, vllm_ref, secs[mode])
            finally:
                subprocess.run(["docker", "image", "rm", previous], capture_output=True)
    changed = changed_bytes(before, after)
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
        "edit_to_cluster": cluster,
        **cluster_ratios(cluster),
        "cold_node": cold,
        **compression_ratios(cold),
        "cold_node_method": COLD_NODE_METHOD,
        "production_estimate": PRODUCTION_ESTIMATE,
        "goals": {k: f"{op} {v}" for k, (op, v) in GOALS.items()},
    }
    (graph.BUILD_DIR / "bench.json").write_text(json.dumps(result, indent=2) + "\n")
    chart(secs, cluster, cold, graph.BUILD_DIR / "bench.png")
    return result


def cluster_ratios(cluster: dict[str, dict]) -> dict[str, float]:
    """overlay vs full for the same edit: bytes every node pulls, and seconds from edit to pushed image."""
    o, f = cluster["overlay"], cluster["full"]
    return {"node_pull_bytes_ratio": round(o["node_pull_bytes"] / f["node_pull_bytes"], 6),
            "edit_to_pushed_speedup": round((f["build_seconds"] + f["push_seconds"])
                                            / (o["build_seconds"] + o["push_seconds"]), 2)}


COLD_NODE_METHOD = (
    "a second dockerd (classic store, its own data root, so none of the image's layers) pulls from the loopback "
    "registry: `docker pull` seconds are download + unpack with no network limit, then `docker run --rm "
    "--network none <image> true`; export + compress is a bake of the already-built vllm image into that "
    "compression (the cold build loaded it uncompressed, so neither compression finds its blobs made)")

# Not measured here (no ROCm build is possible): what a full-mode edit costs each node in production.
PRODUCTION_ESTIMATE = (
    "ESTIMATE, not a measurement: full mode re-installs the vLLM wheel, so each node pulls about "
    "size(vLLM ROCm wheel install layer) + size(patch and label layers) per edit, against the overlay's "
    "size(patched .py files) + size(label layers) (the overlay figure above is measured and does not depend on "
    "kernels). Input: the install layer of the production vllm image, read with "
    "`docker history --format '{{.Size}} {{.CreatedBy}}' <image>` on an AMD build host (the sandbox wheel has no "
    "compiled kernels, so its full-mode figure here is a lower bound).")


def report(r: dict) -> str:
    rows = [f"{'build':<10}{'seconds':>10}"] + [f"{k:<10}{v:>10.1f}" for k, v in r["seconds"].items()]
    rows.append(f"vllm image {r['vllm_image_bytes'] / 2**20:.0f} MiB; layers changed by the patch edit "
                f"{r['changed_layer_bytes'] / 2**10:.1f} KiB")
    for mode, c in r["edit_to_cluster"].items():
        rows.append(f"{mode:<8} edit: build {c['build_seconds']} s, push {c['push_seconds']} s, node pull "
                    f"{c['node_pull_seconds']} s / {c['node_pull_bytes'] / 2**20:.2f} MiB "
                    f"(changed layers {c['changed_layer_bytes'] / 2**20:.2f} MiB)")
    for key, (op, goal) in GOALS.items():
        met = r[key] >= goal if op == ">=" else r[key] <= goal
        rows.append(f"{key:<24}{r[key]:>12}   goal {op} {goal}  {'met' if met else 'NOT met'}")
    for packed, c in r["cold_node"].items():
        rows.append(f"{packed:<5} to a cold node: export+compress {c['export_compress_seconds']} s, push "
                    f"{c['push_seconds']} s, {c['registry_bytes'] / 2**20:.0f} MiB in the registry, pull+unpack "
                    f"{c['cold_pull_seconds']} s, first run {c['first_run_seconds']} s")
    rows.append(f"node_pull_bytes_ratio (overlay / full)   {r['node_pull_bytes_ratio']}")
    rows.append(f"edit_to_pushed_speedup (full / overlay)  {r['edit_to_pushed_speedup']}")
    return "\n".join(rows) + (f"\nprofile: {r['profile']}\nproduction: {r['production_estimate']}"
                              "\nwritten: build/bench.json, build/bench.png")
