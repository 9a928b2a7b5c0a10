// Sandbox profile: layered on bake.hcl with a second -f. Offline stand-ins for what needs ROCm binaries;
// everything else (the vLLM release source, our patch series, tilelang) is real. Never a ROCm result.

variable "SANDBOX_BASE_IMAGE" {}
variable "SANDBOX_PYTHON_VERSION" {}
variable "SANDBOX_TORCH_VERSION" {}
variable "VLLM_SRC_DIR" {}
variable "TORCH_WHEELS_DIR" {}

variable "SANDBOX_NOTE" {
  default = "SANDBOX STAND-INS: Debian base without ROCm, CPU torch, aiter stand-in module_mhc.so, amdsmi stand-in"
}

target "_common" {
  args = { PYTHON_VERSION = SANDBOX_PYTHON_VERSION }
}

target "_sources" {
  contexts = {
    base         = "docker-image://${SANDBOX_BASE_IMAGE}"
    torch-wheels = TORCH_WHEELS_DIR
    aiter-src    = "images/rocm_base/sandbox-aiter"
    vllm-src     = VLLM_SRC_DIR
    standins     = "images/vllm/sandbox-standins"
    requirements-drop = "images/vllm/requirements-drop/sandbox"
  }
  args = {
    TORCH_VERSION      = SANDBOX_TORCH_VERSION
    VLLM_TARGET_DEVICE = "empty"
  }
}
