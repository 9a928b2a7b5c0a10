// Sandbox profile: layered on bake.hcl with a second -f. Offline stand-ins for what needs ROCm binaries;
// everything else (the vLLM release source, our patch series, aiter's requirement list, tilelang) is real.
// Never a ROCm result. docs/profiles.md lists every override here; tests/unit/test_profiles.py holds it.

variable "SANDBOX_BASE_IMAGE" {}
variable "SANDBOX_PYTHON_VERSION" {}
variable "SANDBOX_TORCH_VERSION" {}
// the torch wheel the CLI resolved (src/rocm_images/host/torch_wheel.py): its directory, sha256 and source
variable "TORCH_WHEELS_DIR" {}
variable "SANDBOX_TORCH_SHA256" { default = "" }
variable "SANDBOX_TORCH_SOURCE" { default = "" }

variable "BASE_IMAGE" { default = SANDBOX_BASE_IMAGE }
variable "BASE_DIGEST" { default = "" }
variable "TORCH_WHEEL" {
  default = SANDBOX_TORCH_SHA256 == "" ? "" : "sha256:${SANDBOX_TORCH_SHA256} from ${SANDBOX_TORCH_SOURCE}"
}
variable "SANDBOX_NOTE" {
  default = "SANDBOX STAND-INS: Debian base without ROCm, CPU torch, aiter stand-in module_mhc.so, amdsmi stand-in"
}

target "_common" {
  args = { PYTHON_VERSION = SANDBOX_PYTHON_VERSION }
}

target "_sources" {
  contexts = {
    rocm-wheels       = "target:sandbox-wheels"
    aiter-src         = "images/rocm_base/sandbox-aiter"
    requirements-drop = "images/vllm/requirements-drop/sandbox"
  }
  args = { VLLM_TARGET_DEVICE = "empty", HIP_RUNTIME = "os", NIC_BACKEND = "none" }
}

// the wheel set: a CPU torch wheel (pip's find-links or SANDBOX_TORCH_INDEX) and the stand-ins no offline build
// can replace
target "sandbox-wheels" {
  inherits   = ["_common"]
  dockerfile = "docker/Dockerfile.sandbox"
  target     = "rocm-wheels"
  contexts   = { os = "target:rocm_base-os", torch-wheels = TORCH_WHEELS_DIR }
  args       = { SANDBOX_TORCH_VERSION = SANDBOX_TORCH_VERSION, SANDBOX_TORCH_SHA256 = SANDBOX_TORCH_SHA256 }
}
