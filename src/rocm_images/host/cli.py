"""`python -m rocm_images <command>`: the entry points Make calls. Errors are one line, exit code 2."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from .. import REPO_ROOT, UserError

PATCH_WORK = REPO_ROOT / "build" / "patch-work"


def _engine(_: argparse.Namespace) -> None:
    from . import engine

    actions = engine.ensure()
    print("engine: " + ("; ".join(actions) if actions else "suitable engine already running; nothing changed"))


def _pins(a: argparse.Namespace) -> None:
    from ..stages import pins

    pin = pins.load()
    pins.check_aiter_policy(pin)
    sys.stdout.write("".join(f"{k} := {v}\n" for k, v in pin.items()) if a.make else pins.as_env(pin))


def _base(a: argparse.Namespace) -> None:
    from ..stages import pins
    from . import sandbox_base

    pin = pins.load()
    print(f"sandbox base: {sandbox_base.ensure(pin, rebuild=a.rebuild)} ({sandbox_base.STANDIN_LABEL})")
    print(f"compiler base: {sandbox_base.ensure(pin, rebuild=a.rebuild, compiler=True)} "
          f"({sandbox_base.COMPILER_LABEL})")


def _image(a: argparse.Namespace) -> None:
    from . import transaction

    built = transaction.build(a.profile, a.targets.split(",") if a.targets else None, tag=a.tag,
                              layer_compression=a.compression or "gzip")
    note = " — SANDBOX images (stand-ins; not a ROCm result; cannot be pushed)" if a.profile == "sandbox" else ""
    print(f"built ({a.profile}){note}:")
    for t in (t for tags in built.values() for t in tags):
        print(f"  {t}")
    if a.profile == "sandbox":
        from . import torch_wheel

        got = torch_wheel.named()
        print(f"torch (CPU stand-in for ROCm torch): sha256:{got['SANDBOX_TORCH_SHA256']} from "
              f"{got['SANDBOX_TORCH_SOURCE']}")
    if built.get("vllm"):
        from . import smoke

        print("ran " + smoke.probe_summary(built["vllm"][0]))


def _refresh_base(_: argparse.Namespace) -> None:
    from ..stages import pins
    from . import engine, preflight

    engine.require()
    pin = pins.load()
    print(f"ROCM_BASE_DIGEST={preflight.refresh_base(pin)} ({pin['ROCM_BASE_IMAGE']}); commit versions.env")


def _clean_images(_: argparse.Namespace) -> None:
    from . import cleanup, engine

    engine.require()
    removed = cleanup.clean()
    print(f"removed {len(removed)} test/candidate/untagged image(s) and container(s) of this project"
          + "".join(f"\n  {r}" for r in removed))


def _print(a: argparse.Namespace) -> None:
    from . import graph

    # the component stages are production's (the sandbox replaces their wheel set as a whole)
    sys.stdout.write(graph.print_graph(a.profile, ["all", "components"] if a.profile == "production" else ["all"]))


def _lint(_: argparse.Namespace) -> None:
    from . import lint

    problems = lint.run_all()
    if problems:
        raise UserError(f"lint found problems in: {', '.join(problems)} (see output above)")
    print("lint: hadolint, ruff, shellcheck clean")


def _patch_check(a: argparse.Namespace) -> None:
    from ..stages import patches, pins
    from . import vllm_ref

    pin = pins.load()
    ref = a.ref or pin["VLLM_REF"]
    src, checksum = (Path(a.src), "a tree you gave") if a.src else vllm_ref.source(ref, pin)
    series, of = vllm_ref.series(ref, pin)
    print(f"patch-check: vLLM {ref} from {src} ({checksum}); the {of} series ({len(series)} patches)")
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["cp", "-a", str(src), str(tree)], check=True)
        patches.apply(series, tree)
    print(f"patch-check: the {of} series applies cleanly to vLLM {ref} (mode: {patches.mode_for(series)})")


def _patch_work(a: argparse.Namespace) -> None:
    from ..stages import patches, pins
    from . import vllm_ref

    pin = pins.load()
    ref = a.ref or pin["VLLM_REF"]
    src, _ = vllm_ref.source(ref, pin)
    series, of = vllm_ref.series(ref, pin)
    dest = patches.workspace(src, ref, series, PATCH_WORK)
    print(f"patch workspace: {dest} (vLLM {ref} + the {of} series; commit your edits there, then "
          f"`make patch-refresh VLLM_REF={ref}`)")


def _patch_refresh(a: argparse.Namespace) -> None:
    from ..stages import patches, pins

    out = patches.refresh(PATCH_WORK, a.ref or pins.load()["VLLM_REF"])
    print("patch series regenerated:\n" + "\n".join(f"  {p.relative_to(REPO_ROOT)}" for p in out))


def _push(a: argparse.Namespace) -> None:
    from . import push

    pinned = push.run(a.profile, a.registry, a.tag, local_tag=a.tag or "latest",
                      layer_compression=a.compression or None)
    print("digests (pin these in schedulers):\n" + "\n".join(f"  {p}" for p in pinned))


def _mutate(a: argparse.Namespace) -> None:
    from . import mutate

    mutate.run(a.select, engine=not a.no_engine)


def _bench(_: argparse.Namespace) -> None:
    from . import bench

    print(bench.report(bench.run()))


def _smoke(a: argparse.Namespace) -> None:
    from . import smoke

    sys.exit(smoke.run(a.image, a.select))


_PROFILE = {"--profile": {"default": "production"}}
_REF = {"--ref": {}}
_COMPRESSION = {"--compression": {"default": "", "help": "layer compression: gzip (default) or zstd"}}
# command -> (handler, its options as argparse keyword arguments)
COMMANDS: dict[str, tuple] = {
    "engine": (_engine, {}),
    "pins": (_pins, {"--make": {"action": "store_true"}}),
    "base": (_base, {"--rebuild": {"action": "store_true"}}),
    "image": (_image, {**_PROFILE, "--targets": {"default": ""}, "--tag": {"default": "latest"}, **_COMPRESSION}),
    "print": (_print, _PROFILE),
    "refresh-base": (_refresh_base, {}),
    "clean-images": (_clean_images, {}),
    "lint": (_lint, {}),
    "patch-check": (_patch_check, {**_REF, "--src": {}}),
    "patch-work": (_patch_work, _REF),
    "patch-refresh": (_patch_refresh, _REF),
    "push": (_push, {**_PROFILE, "--registry": {"default": ""}, "--tag": {"default": ""}, **_COMPRESSION}),
    "bench": (_bench, {}),
    "mutate": (_mutate, {"--select": {"default": "", "help": "only mutants whose id contains this"},
                         "--no-engine": {"action": "store_true", "help": "skip mutants whose tests need Docker"}}),
    "smoke": (_smoke, {"--image": {"required": True}, "--select": {"default": "", "help": "pytest -k expression"}}),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rocm-images")
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name, (fn, options) in COMMANDS.items():
        p = sub.add_parser(name)
        for flag, kwargs in options.items():
            p.add_argument(flag, **kwargs)
        p.set_defaults(fn=fn)
    args = parser.parse_args(argv)
    try:
        args.fn(args)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
