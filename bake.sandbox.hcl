// Sandbox profile: layered on bake.hcl with a second -f. Offline stand-ins for what needs ROCm binaries;
// everything else (the vLLM release source, our patch series, aiter's git history, setup.py and Python, tilelang) is
// real.
// Never a ROCm result. docs/profiles.md lists every override here; tests/unit/test_profiles.py holds it.

variable "SANDBOX_BASE_IMAGE" {}
// the compiler root's base: SANDBOX_COMPILER_SUITE by debootstrap (src/rocm_images/host/sandbox_base.py)
variable "SANDBOX_COMPILER_BASE_IMAGE" {}
variable "SANDBOX_PYTHON_VERSION" {}
variable "SANDBOX_TORCH_VERSION" {}
variable "SANDBOX_TRITON_VERSION" {}
// the torch wheel the CLI resolved (src/rocm_images/host/torch_wheel.py): its directory, sha256 and source
variable "TORCH_WHEELS_DIR" {}
variable "SANDBOX_TORCH_SHA256" { default = "" }
variable "SANDBOX_TORCH_SOURCE" { default = "" }
// aiter's repository: AITER_REPO (the network), or the local mirror the CLI made of AITER_MIRROR (a git bundle or
// clone; src/rocm_images/host/aiter_mirror.py) in AITER_MIRROR_DIR (empty without one), which the clone then reads
variable "AITER_MIRROR_DIR" { default = "build/aiter-mirror" }
variable "SANDBOX_AITER_REPO" { default = AITER_REPO }
// composable_kernel, the same way: CK_REPO, or the mirror of CK_MIRROR in CK_MIRROR_DIR (src/rocm_images/host/ck_mirror.py)
variable "CK_MIRROR_DIR" { default = "build/ck-mirror" }
variable "SANDBOX_CK_REPO" { default = CK_REPO }

variable "BASE_IMAGE" { default = SANDBOX_BASE_IMAGE }
variable "BASE_DIGEST" { default = "" }
variable "TORCH_WHEEL" {
  default = SANDBOX_TORCH_SHA256 == "" ? "" : "sha256:${SANDBOX_TORCH_SHA256} from ${SANDBOX_TORCH_SOURCE}"
}
// sandbox images are loaded into this engine and never pushed: gzip's fastest level, the same media types
variable "GZIP_LEVEL" { default = 1 }
variable "SANDBOX_NOTE" {
  default = "SANDBOX STAND-INS: Debian base without ROCm, CPU torch, aiter's module_mhc (host side) and module_aiter_core as CPU builds, amdsmi, hipconfig and rocminfo stand-ins, Debian's ROCm 7.2 hipcc as /opt/rocm/bin/hipcc"
}

target "_common" {
  args = { PYTHON_VERSION = SANDBOX_PYTHON_VERSION }
}

// aiter: the real repository at AITER_BRANCH, built by its own setup.py; only its compiled modules arrive as CPU
// builds (aiter-prebuilt)
target "_sources" {
  contexts = {
    rocm-wheels       = "target:sandbox-wheels"
    aiter-mirror      = AITER_MIRROR_DIR
    aiter-prebuilt    = "target:sandbox-aiter-cpu"
    rocm-compiler     = "target:sandbox-compiler"
    requirements-drop = "images/vllm/requirements-drop/sandbox"
  }
  args = {
    VLLM_TARGET_DEVICE = "empty", HIP_RUNTIME = "os", NIC_BACKEND = "none"
    AITER_REPO = SANDBOX_AITER_REPO, AITER_SUBMODULES = "0", PREBUILD_KERNELS = "0",
    AITER_LOCAL_VERSION = "sandbox.standin"
  }
}

// the wheel set: a CPU torch wheel (pip's find-links or SANDBOX_TORCH_INDEX), PyPI triton and the stand-ins no
// offline build can replace
target "sandbox-wheels" {
  inherits   = ["_common"]
  dockerfile = "docker/Dockerfile.sandbox"
  target     = "rocm-wheels"
  contexts   = { os = "target:rocm_base-os", torch-wheels = TORCH_WHEELS_DIR }
  args = { SANDBOX_TORCH_VERSION = SANDBOX_TORCH_VERSION, SANDBOX_TORCH_SHA256 = SANDBOX_TORCH_SHA256,
    SANDBOX_TRITON_VERSION = SANDBOX_TRITON_VERSION }
}

// the wheels stage of Dockerfile.rocm_base on the sandbox wheel set: what the aiter CPU modules build against
// (its own contexts, not _sources: that would make it depend on the aiter modules it feeds)
target "rocm_base-wheels" {
  inherits   = ["_common"]
  dockerfile = "docker/Dockerfile.rocm_base"
  target     = "wheels"
  contexts = { base = "docker-image://${BASE_IMAGE}", tools = "src", rocm-wheels = "target:sandbox-wheels",
    rocm-compiler = "target:sandbox-compiler" }
  args = { HIP_RUNTIME = "os" }
}

// Debian's ROCm 7.2 compilers: a SANDBOX_COMPILER_SUITE root relocated under /opt/rocm-compiler, and the
// /opt/rocm/bin/hipcc that calls it
target "sandbox-compiler" {
  inherits   = ["_common"]
  dockerfile = "docker/Dockerfile.sandbox"
  target     = "compilers"
  contexts   = { compiler-base = "docker-image://${SANDBOX_COMPILER_BASE_IMAGE}", os = "target:rocm_base-os" }
  args = {
    SANDBOX_COMPILER_SUITE = SANDBOX_COMPILER_SUITE, SANDBOX_COMPILER_APT_SUITE = SANDBOX_COMPILER_APT_SUITE,
    SANDBOX_HIPCC_VERSION = SANDBOX_HIPCC_VERSION, SANDBOX_HIP_DEV_VERSION = SANDBOX_HIP_DEV_VERSION,
    SANDBOX_ROCM_DEVICE_LIBS_VERSION = SANDBOX_ROCM_DEVICE_LIBS_VERSION,
    SANDBOX_ROCM_PRIMS_VERSION = SANDBOX_ROCM_PRIMS_VERSION, SANDBOX_CLANG_VERSION = SANDBOX_CLANG_VERSION
  }
}

// the ck_tile headers aiter's mhc kernels include, at CK_COMMIT
target "sandbox-ck-src" {
  inherits   = ["_common"]
  dockerfile = "docker/Dockerfile.sandbox"
  target     = "ck-headers"
  contexts   = { os = "target:rocm_base-os", ck-mirror = CK_MIRROR_DIR }
  args       = { CK_REPO = SANDBOX_CK_REPO, CK_COMMIT = CK_COMMIT }
}

// aiter's checkout at AITER_BRANCH (Dockerfile.rocm_base's aiter-src, the clone rocm_base builds from)
target "sandbox-aiter-src" {
  inherits   = ["_common"]
  dockerfile = "docker/Dockerfile.rocm_base"
  target     = "aiter-src"
  contexts   = { base = "docker-image://${BASE_IMAGE}", aiter-mirror = AITER_MIRROR_DIR }
  args       = { AITER_REPO = SANDBOX_AITER_REPO, AITER_SUBMODULES = "0" }
}

// aiter-prebuilt: CPU builds of module_mhc (with its real device code) and module_aiter_core
// (images/rocm_base/aiter-cpu)
target "sandbox-aiter-cpu" {
  inherits   = ["_common"]
  dockerfile = "docker/Dockerfile.sandbox"
  target     = "aiter-prebuilt"
  contexts = { wheels = "target:rocm_base-wheels", tools = "src", aiter-src = "target:sandbox-aiter-src",
    ck-src = "target:sandbox-ck-src" }
}

// the no-module_mhc negative control: module_aiter_core alone (PREBUILD_KERNELS=0 is what removes it in production)
target "sandbox-aiter-cpu-no-mhc" {
  inherits = ["sandbox-aiter-cpu"]
  args     = { AITER_CPU_MODULES = "module_aiter_core" }
}

target "rocm_base-no-module-mhc" {
  contexts = { aiter-prebuilt = "target:sandbox-aiter-cpu-no-mhc" }
}

// the old-aiter negative control builds AITER_CONTROL_BRANCH, whose flydsl pin has no wheel for the sandbox's Python
target "rocm_base-old-aiter" {
  contexts = { aiter-requirements-drop = "images/rocm_base/aiter-requirements-drop/sandbox-old-aiter" }
}
