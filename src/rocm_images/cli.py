"""`python -m rocm_images <command>`: the entry points Make calls. Errors are one line, exit code 2."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from . import REPO_ROOT, UserError

PATCH_WORK = REPO_ROOT / "build" / "patch-work"


def _engine(_: argparse.Namespace) -> None:
    from . import engine

    actions = engine.ensure()
    print("engine: " + ("; ".join(actions) if actions else "suitable engine already running; nothing changed"))


def _pins(a: argparse.Namespace) -> None:
    from . import pins

    pin = pins.load()
    pins.check_aiter_policy(pin)
    sys.stdout.write("".join(f"{k} := {v}\n" for k, v in pin.items()) if a.make else pins.as_env(pin))


def _base(a: argparse.Namespace) -> None:
    from . import pins, sandbox_base

    print(f"sandbox base: {sandbox_base.ensure(pins.load(), rebuild=a.rebuild)} ({sandbox_base.STANDIN_LABEL})")


def _image(a: argparse.Namespace) -> None:
    from . import bake

    tags = bake.build(a.profile, a.targets.split(",") if a.targets else None, tag=a.tag)
    note = " — SANDBOX images (stand-ins; not a ROCm result; cannot be pushed)" if a.profile == "sandbox" else ""
    print(f"built ({a.profile}){note}:")
    for t in tags:
        print(f"  {t}")
    vllm = next((t for t in tags if "/vllm:" in t), None)
    if vllm:
        from . import smoke

        print("ran " + smoke.probe_summary(vllm))


def _print(a: argparse.Namespace) -> None:
    from . import bake

    sys.stdout.write(bake.print_graph(a.profile, ["all"]))


def _lint(_: argparse.Namespace) -> None:
    from . import lint

    problems = lint.run_all()
    if problems:
        raise UserError(f"lint found problems in: {', '.join(problems)} (see output above)")
    print("lint: hadolint, ruff, shellcheck clean")


def _patch_check(a: argparse.Namespace) -> None:
    from . import patches, pins, vllm_ref

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
    from . import patches, pins, vllm_ref

    pin = pins.load()
    ref = a.ref or pin["VLLM_REF"]
    src, _ = vllm_ref.source(ref, pin)
    series, of = vllm_ref.series(ref, pin)
    dest = patches.workspace(src, ref, series, PATCH_WORK)
    print(f"patch workspace: {dest} (vLLM {ref} + the {of} series; commit your edits there, then "
          f"`make patch-refresh VLLM_REF={ref}`)")


def _patch_refresh(a: argparse.Namespace) -> None:
    from . import patches, pins

    out = patches.refresh(PATCH_WORK, a.ref or pins.load()["VLLM_REF"])
    print("patch series regenerated:\n" + "\n".join(f"  {p.relative_to(REPO_ROOT)}" for p in out))


def _push(a: argparse.Namespace) -> None:
    from . import push

    pinned = push.run(a.profile, a.registry, a.tag, local_tag=a.tag or "latest")
    print("digests (pin these in schedulers):\n" + "\n".join(f"  {p}" for p in pinned))


def _bench(_: argparse.Namespace) -> None:
    from . import bench

    print(bench.report(bench.run()))


def _smoke(a: argparse.Namespace) -> None:
    from . import smoke

    sys.exit(smoke.run(a.image, a.select))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rocm-images")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("engine").set_defaults(fn=_engine)
    p = sub.add_parser("pins")
    p.add_argument("--make", action="store_true")
    p.set_defaults(fn=_pins)
    p = sub.add_parser("base")
    p.add_argument("--rebuild", action="store_true")
    p.set_defaults(fn=_base)
    p = sub.add_parser("image")
    p.add_argument("--profile", default="production")
    p.add_argument("--targets", default="")
    p.add_argument("--tag", default="latest")
    p.set_defaults(fn=_image)
    p = sub.add_parser("print")
    p.add_argument("--profile", default="production")
    p.set_defaults(fn=_print)
    sub.add_parser("lint").set_defaults(fn=_lint)
    p = sub.add_parser("patch-check")
    p.add_argument("--ref")
    p.add_argument("--src")
    p.set_defaults(fn=_patch_check)
    for name, fn in (("patch-work", _patch_work), ("patch-refresh", _patch_refresh)):
        p = sub.add_parser(name)
        p.add_argument("--ref")
        p.set_defaults(fn=fn)
    p = sub.add_parser("push")
    p.add_argument("--profile", default="production")
    p.add_argument("--registry", default="")
    p.add_argument("--tag", default="")
    p.set_defaults(fn=_push)
    sub.add_parser("bench").set_defaults(fn=_bench)
    p = sub.add_parser("smoke")
    p.add_argument("--image", required=True)
    p.add_argument("--select", default="", help="pytest -k expression (e.g. gpu)")
    p.set_defaults(fn=_smoke)
    args = parser.parse_args(argv)
    try:
        args.fn(args)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
