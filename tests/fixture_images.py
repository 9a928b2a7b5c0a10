"""Tiny test images: a build context that already holds its Dockerfile, built and loaded under a ref, labelled as
this project's test fixture (the suite's clean-up finds it by that label; ours=False leaves it off) plus the labels
a test gives."""

from __future__ import annotations

import subprocess
from pathlib import Path

from rocm_images.host import cleanup


def build(ctx: Path, ref: str, labels: dict[str, str] | None = None, provenance: str = "false",
          ours: bool = True, compression: str = "") -> str:
    """compression: "" loads as `--load` does; gzip/zstd recompress every layer, as bake.hcl's image_output."""
    labels = {**({cleanup.project_label(): "test-fixture"} if ours else {}), **(labels or {})}
    args = [a for k, v in labels.items() for a in ("--label", f"{k}={v}")]
    out = (["--output", f"type=image,name={ref},compression={compression},force-compression=true,oci-mediatypes=true"]
           if compression else ["--load", "-t", ref])
    subprocess.run(["docker", "buildx", "build", *out, "-q", f"--provenance={provenance}", *args, str(ctx)],
                   check=True, capture_output=True)
    return ref
