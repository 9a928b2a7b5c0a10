"""The image suite run against the negative-control images (bake group `negative`): each must make the suite
FAIL, and in the checks that guard what the control removes, or a green suite would prove nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from rocm_images import REPO_ROOT
from rocm_images.host import transaction

pytestmark = pytest.mark.engine

# control -> the image checks that must fail on it (others may fail too, as long as the suite is red)
MUST_FAIL = {
    "test-no-module-mhc": {"test_module_mhc_is_an_elf_shared_object_where_aiter_loads_it",
                           "test_aiter_imports_the_prebuilt_module",
                           "test_default_knobs_select_aiter_and_compile_no_tilelang"},
    "test-unpatched": {"test_default_knobs_select_aiter_and_compile_no_tilelang",
                       "test_tilelang_opt_in_compiles_vllm_s_kernels_for_each_target_arch",
                       "test_aiter_off_uses_neither_aiter_nor_tilelang", "test_patched_vllm_is_installed",
                       "test_entrypoint_rejects_a_bad_knob_in_one_line"},
    "test-old-aiter": {"test_build_info_matches_labels_and_aiter_carries_the_fix", "test_pinned_versions_import"},
}


@pytest.fixture(scope="session")
def controls() -> dict[str, str]:
    return {name: tags[0] for name, tags in transaction.build("sandbox", ["negative"], tag="test").items()}


def run_suite(image: str, junit: str) -> tuple[int, set[str], set[str]]:
    """Exit code, failed (or errored) and passed test names of tests/image/test_image.py on `image`."""
    env = dict(os.environ, IMAGE=image)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}",
                           "tests/image/test_image.py"], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=1800)
    failed, passed = set(), set()
    for case in ET.parse(junit).iter("testcase"):
        name = case.get("name", "").split("[")[0]
        if case.find("failure") is not None or case.find("error") is not None:
            failed.add(name)
        elif case.find("skipped") is None:
            passed.add(name)
    return proc.returncode, failed, passed


@pytest.mark.parametrize("control", sorted(MUST_FAIL))
def test_suite_fails_on_negative_control(controls, control, tmp_path):
    code, failed, passed = run_suite(controls[control], str(tmp_path / "junit.xml"))
    assert code == 1, f"suite exit {code} on {control}"
    assert MUST_FAIL[control] <= failed, f"{control}: expected failures missing: {MUST_FAIL[control] - failed}"
    if control != "test-unpatched":  # the unpatched image's entrypoint refuses to start: nearly everything fails
        assert passed, f"{control}: nothing passed, so the failures say nothing specific"


def test_unpatched_image_stops_at_the_entrypoint(controls):
    proc = subprocess.run(["docker", "run", "--rm", controls["test-unpatched"], "true"], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("[rocm-images] error: this image's vLLM lacks the DeepSeek-V4 mHC patch series "
                                   "(vllm.envs has no VLLM_ROCM_USE_TILELANG_MHC); rebuild it with `make image`")
