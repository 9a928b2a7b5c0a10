"""A requirements file (vLLM's, aiter's), flattened (`-r` includes expanded) and with a drop list applied.

Runs inside the builds (stdlib only), in the same RUN for both profiles: production's drop lists are empty;
the sandbox's name the few lines that cannot install there, each with its reason (named contexts:
images/vllm/requirements-drop/<profile>/drop.txt, images/rocm_base/aiter-requirements-drop/<which>/drop.txt).
Every drop is printed in the build log.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from .. import UserError

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def canonical(name: str) -> str:
    """PEP 503 normalisation: `Foo_Bar.baz` and `foo-bar-baz` are one project."""
    return re.sub(r"[-_.]+", "-", name).lower()


def project(line: str) -> str:
    m = _NAME.match(line)
    if not m:
        raise UserError(f"cannot read a project name from requirement {line!r}")
    return canonical(m.group(1))


def expand(path: Path, seen: tuple[Path, ...] = ()) -> list[str]:
    """The requirement lines of `path`, `-r`/`--requirement` includes expanded in place, comments dropped."""
    if path in seen:
        raise UserError(f"{path}: includes itself through {' -> '.join(p.name for p in seen)}")
    if not path.is_file():
        raise UserError(f"{path}: not found; is the vLLM source complete?")
    lines: list[str] = []
    for raw in path.read_text().splitlines():
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        if line.startswith(("-r ", "--requirement ")):
            lines += expand(path.parent / line.split(None, 1)[1], (*seen, path))
        elif line.startswith("-"):
            raise UserError(f"{path}: option line {line!r} is not supported; extend rocm_images.stages.requirements")
        else:
            lines.append(line)
    return lines


def drop_list(path: Path) -> dict[str, str]:
    """project -> reason, from `name  # reason` lines; a drop without a reason is refused."""
    drops: dict[str, str] = {}
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        name, _, reason = raw.partition("#")
        if not reason.strip():
            raise UserError(f"{path.name}:{n}: {name.strip()!r} has no reason; write `name  # why`")
        drops[canonical(name.strip())] = reason.strip()
    return drops


def select(lines: list[str], drops: dict[str, str]) -> tuple[list[str], list[str]]:
    """(kept lines, dropped projects); a drop that matches nothing is an error (the list went stale)."""
    kept = [line for line in lines if project(line) not in drops]
    present = {project(line) for line in lines}
    stale = sorted(set(drops) - present)
    if stale:
        raise UserError(f"the drop list names {', '.join(stale)}, which the requirements no longer have; "
                        "remove them from the drop list")
    return kept, sorted(d for d in drops if d in present)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--src", type=Path, required=True, help="vLLM's requirements file (e.g. requirements/rocm.txt)")
    ap.add_argument("--drop", type=Path, required=True, help="the profile's drop list")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    try:
        drops = drop_list(a.drop)
        kept, dropped = select(expand(a.src), drops)
    except UserError as e:
        print(f"error: requirements: {e}", file=sys.stderr)
        return 2
    a.out.write_text("".join(f"{line}\n" for line in kept))
    print(f"requirements: {len(kept)} from {a.src.name} and its includes; dropped {len(dropped)}"
          + "".join(f"\n  dropped {d}: {drops[d]}" for d in dropped))
    return 0


if __name__ == "__main__":
    sys.exit(main())
