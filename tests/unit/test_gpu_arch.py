"""knobs.gpu_arch() decodes the KFD topology the way the kernel driver writes it (a fake sysfs tree): the
gfx942 warning depends on it, and no CI machine has a real /sys/class/kfd."""

from __future__ import annotations

from pathlib import Path

import pytest

from rocm_images.image import knobs


def _topology(root: Path, versions: list[int]) -> Path:
    """nodes/<n>/properties as amdkfd writes them; node 0 is the CPU (gfx_target_version 0)."""
    for n, v in enumerate(versions):
        node = root / "nodes" / str(n)
        node.mkdir(parents=True)
        (node / "properties").write_text(f"cpu_cores_count {0 if v else 96}\nsimd_count {304 if v else 0}\n"
                                         f"gfx_target_version {v}\nvendor_id 4098\n")
    return root / "nodes"


@pytest.mark.parametrize("version,arch", [(90402, "gfx942"), (90010, "gfx90a"), (110001, "gfx1101"),
                                          (90500, "gfx950"), (120001, "gfx1201")])
def test_gfx_target_version_decodes_to_the_gfx_name(tmp_path, monkeypatch, version, arch):
    monkeypatch.delenv("ROCM_IMAGES_STANDIN_GFX", raising=False)
    assert knobs.gpu_arch(_topology(tmp_path, [0, version])) == arch


def test_cpu_nodes_are_skipped_and_the_first_gpu_wins(tmp_path, monkeypatch):
    monkeypatch.delenv("ROCM_IMAGES_STANDIN_GFX", raising=False)
    assert knobs.gpu_arch(_topology(tmp_path, [0, 0, 90402, 90500])) == "gfx942"


def test_no_gpu_node_falls_back_to_the_standin_env_only(tmp_path, monkeypatch):
    nodes = _topology(tmp_path, [0])
    monkeypatch.delenv("ROCM_IMAGES_STANDIN_GFX", raising=False)
    assert knobs.gpu_arch(nodes) == ""
    monkeypatch.setenv("ROCM_IMAGES_STANDIN_GFX", "gfx950")
    assert knobs.gpu_arch(nodes) == "gfx950"
    assert knobs.gpu_arch(_topology(tmp_path / "real", [0, 90402])) == "gfx942"  # real hardware beats the env
