"""The vLLM source and patch series for any release ref: the pinned one (checksum from versions.env) or another
one being rebased onto (checksum published by the package index, reported as such)."""

from __future__ import annotations

from pathlib import Path

from .. import UserError
from ..stages import patches, pins
from . import graph, sdist


def source(ref: str, pin: dict[str, str]) -> tuple[Path, str]:
    """(unpacked tree, where its checksum came from)."""
    if ref == pin["VLLM_REF"]:
        return graph.vllm_source(pin), "sha256 pinned in versions.env"
    if pins.tag_version(ref) is None:
        raise UserError(f"VLLM_REF={ref} is not a release tag like {pin['VLLM_REF']}; "
                        "the sandbox takes vLLM from its sdist")
    version = ref.removeprefix("v")
    tree = sdist.source_tree(version, sdist.index_sha256(version), graph.BUILD_DIR / "src")
    return tree, "sha256 published by the package index (not pinned)"


def series(ref: str, pin: dict[str, str]) -> tuple[list[Path], str]:
    """(patches, which ref's series): a ref without its own series is tried with the pinned one."""
    if (patches.PATCH_ROOT / ref).is_dir():
        return patches.series(ref), ref
    return patches.series(pin["VLLM_REF"]), pin["VLLM_REF"]
