"""The wheel set rocm_base installs, as pip constraints: every later pip step keeps these exact versions.

Runs inside the build (stdlib only). Names and versions come from the wheel file names (PEP 427), which is what
pip installed from them with --no-index.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import UserError
from .requirements import canonical


def pins(wheels: Path) -> dict[str, str]:
    """{project: version} of every *.whl in `wheels`; two wheels of one project is an error."""
    found: dict[str, str] = {}
    for whl in sorted(wheels.glob("*.whl")):
        parts = whl.name[:-4].split("-")
        if len(parts) not in (5, 6):
            raise UserError(f"{whl.name}: not a wheel file name (name-version[-build]-py-abi-platform.whl)")
        name, version = canonical(parts[0]), parts[1]
        if name in found:
            raise UserError(f"{wheels}: two wheels for {name} ({found[name]}, {version}); keep one")
        found[name] = version
    if not found:
        raise UserError(f"{wheels}: no wheels; the wheel set stage produced nothing")
    return found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--wheels", type=Path, required=True)
    ap.add_argument("--constraints", type=Path, required=True, help="name==version lines (written or appended)")
    ap.add_argument("--append", action="store_true", help="add to an existing constraints file")
    ap.add_argument("--names", type=Path, help="also write the project names (to install their dependencies)")
    a = ap.parse_args(argv)
    try:
        found = pins(a.wheels)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    lines = [f"{n}=={v}\n" for n, v in found.items()]
    with a.constraints.open("a" if a.append else "w") as f:
        f.writelines(lines)
    if a.names:
        a.names.write_text("".join(f"{n}\n" for n in found))
    print("wheel set: " + ", ".join(f"{n} {v}" for n, v in found.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
