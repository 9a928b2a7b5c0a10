"""Test fake of tilelang: importing it is recorded; any compile request is recorded and refused."""

import os

with open(os.environ["FAKE_TILELANG_LOG"], "a") as _f:
    _f.write("import\n")


def _refuse(*_a, **_k):
    with open(os.environ["FAKE_TILELANG_LOG"], "a") as f:
        f.write("compile\n")
    raise RuntimeError("fake tilelang: compile requested")


compile = jit = _refuse  # noqa: A001
