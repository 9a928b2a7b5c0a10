"""The wheel set's constraints: one name==version per wheel file, so later pip steps keep the built wheels."""

from __future__ import annotations

import pytest

from rocm_images import UserError
from rocm_images.stages import wheelset


def _wheels(tmp_path, *names):
    for n in names:
        (tmp_path / n).write_bytes(b"")
    return tmp_path


def test_pins_from_file_names(tmp_path):
    d = _wheels(tmp_path, "torch-2.10.0a0+git8514f05-cp312-cp312-linux_x86_64.whl",
                "triton_kernels-1.0.0-py3-none-any.whl", "amd_aiter-0.1.14-1-cp312-cp312-linux_x86_64.whl")
    assert wheelset.pins(d) == {"amd-aiter": "0.1.14", "torch": "2.10.0a0+git8514f05", "triton-kernels": "1.0.0"}


def test_two_wheels_of_one_project_is_an_error(tmp_path):
    d = _wheels(tmp_path, "torch-2.10.0-cp312-cp312-linux_x86_64.whl", "torch-2.9.0-cp312-cp312-linux_x86_64.whl")
    with pytest.raises(UserError, match="two wheels for torch"):
        wheelset.pins(d)


def test_empty_set_is_an_error(tmp_path):
    with pytest.raises(UserError, match="no wheels"):
        wheelset.pins(tmp_path)


def test_constraints_written_then_appended(tmp_path):
    d, e = tmp_path / "set", tmp_path / "aiter"
    d.mkdir()
    e.mkdir()
    _wheels(d, "torch-2.13.0+cpu-cp311-cp311-x.whl")
    _wheels(e, "amd_aiter-0.1.14+sandbox.standin-py3-none-any.whl")
    out, names = tmp_path / "constraints.txt", tmp_path / "names.txt"
    assert wheelset.main(["--wheels", str(d), "--constraints", str(out), "--names", str(names)]) == 0
    assert wheelset.main(["--wheels", str(e), "--constraints", str(out), "--append"]) == 0
    assert out.read_text() == "torch==2.13.0+cpu\namd-aiter==0.1.14+sandbox.standin\n"
    assert names.read_text() == "torch\n"
