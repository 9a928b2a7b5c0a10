// The image graph. Every version comes from versions.env, as the defaults of the pin variables below: the CLI
// writes build/versions.bake.json from it and passes it with -f (src/rocm_images/host/graph.py pins_file), so
// `docker buildx bake -f bake.hcl -f build/versions.bake.json` alone builds what `make image` builds.
// Profiles swap sources through named contexts only;
// the sandbox profile is bake.sandbox.hcl layered on top with a second -f.

variable "ROCM_BASE_IMAGE" {}
variable "ROCM_BASE_DIGEST" {}
variable "PYTHON_VERSION" {}
variable "GPU_ARCHS" {}
variable "PYTORCH_ROCM_ARCH" {}
variable "PYTORCH_REPO" {}
variable "PYTORCH_BRANCH" {}
variable "PYTORCH_VISION_REPO" {}
variable "PYTORCH_VISION_BRANCH" {}
variable "PYTORCH_AUDIO_REPO" {}
variable "PYTORCH_AUDIO_BRANCH" {}
variable "TRITON_REPO" {}
variable "TRITON_BRANCH" {}
variable "TRITON_CHERRY_PICKS" {}
variable "FA_REPO" {}
variable "FA_BRANCH" {}
variable "MORI_REPO" {}
variable "MORI_BRANCH" {}
variable "CLR_REPO" {}
variable "CLR_COMMIT" {}
variable "NIC_BACKEND" {}
variable "AINIC_VERSION" {}
variable "BNXT_ROCELIB_VERSION" {}
variable "AITER_REPO" {}
variable "AITER_BRANCH" {}
variable "AITER_COMMIT" {}
variable "AITER_REQUIRED_FIX" {}
variable "AITER_MIN_VERSION" {}
variable "AITER_CONTROL_BRANCH" {}
variable "VLLM_REF" {}
// the unpacked, sha256-checked vLLM sdist of VLLM_REF (prepared by the CLI; both profiles build from it)
variable "VLLM_VERSION" {}
variable "VLLM_SRC_DIR" { default = "build/src/vllm-${VLLM_VERSION}" }
variable "TILELANG_VERSION" {}
variable "TVM_FFI_VERSION" {}

// the image every build starts FROM: production pins the ROCm base by digest (`make refresh-base` updates it);
// the sandbox overlay points both at its local debootstrap image
variable "BASE_IMAGE" { default = "${ROCM_BASE_IMAGE}@${ROCM_BASE_DIGEST}" }
variable "BASE_DIGEST" { default = ROCM_BASE_DIGEST }

// Set by the Makefile / CI, not pins.
variable "PROFILE" { default = "production" }
variable "IMAGE_PREFIX" { default = "rocm-vllm" }
variable "TAG" { default = "latest" }
variable "GIT_SHA" { default = "unknown" }
variable "CREATED" { default = "1970-01-01T00:00:00Z" }
variable "SOURCE_URL" { default = "https://github.com/rocm-vllm-images/rocm-vllm-images" }
variable "PATCH_SERIES_SHA256" { default = "" }
variable "PATCH_MODE" { default = "auto" }
// non-empty only in the sandbox profile: what in the image is a stand-in
variable "SANDBOX_NOTE" { default = "" }
// non-empty only in the sandbox profile: the torch wheel it installs (sha256, source); production builds torch
variable "TORCH_WHEEL" { default = "" }
// the CA bundle passed to downloading steps as the `hostca` secret; the CLI picks this machine's (graph.host_ca)
variable "HOST_CA" { default = "/etc/ssl/certs/ca-certificates.crt" }
// empty: each compiling step uses every core (nproc)
variable "MAX_JOBS" { default = "" }
// cache: "" (engine-local only), "local" (CACHE_DIR) or "registry" (CACHE_REF)
variable "CACHE" { default = "" }
variable "CACHE_DIR" { default = "build/bake-cache" }
variable "CACHE_REF" { default = "" }
// layer compression of the published images: gzip (default: every runtime pulls it) or zstd (faster cold pulls;
// docs/bench.md). The CLI checks the value (host/compression.py); the image's compression label records it.
variable "COMPRESSION" { default = "gzip" }
// gzip's level (zstd's is 3): 6, for what clusters pull; the sandbox overlay sets 1 (docs/profiles.md)
variable "GZIP_LEVEL" { default = 6 }

// the image output: into the engine's image store (the containerd store keeps the blobs, so `docker push` sends
// them as built), every layer recompressed to COMPRESSION (force-compression: the base's layers are gzip),
// with OCI media types (zstd has no Docker schema 2 media type)
function "image_output" {
  params = []
  result = ["type=image,compression=${COMPRESSION},compression-level=${COMPRESSION == "zstd" ? 3 : GZIP_LEVEL},force-compression=true,oci-mediatypes=true"]
}

// the one tag shape: every image's name is computed here (Python reads tags from `bake --print`)
function "image_ref" {
  params = [name]
  result = "${IMAGE_PREFIX}/${name}:${TAG}"
}

// the version string of every image (its OCI version label; push derives its registry tags from it)
function "version" {
  params = []
  result = "${VLLM_REF}-aiter-${AITER_BRANCH}"
}

// what each published image is, for its OCI description label
function "description" {
  params = [title]
  result = {
    "rocm_base"   = "ROCm + PyTorch + Triton + aiter ${AITER_BRANCH} with prebuilt module_mhc"
    "vllm"        = "vLLM ${VLLM_REF} + DeepSeek-V4 aiter mHC patch series on rocm_base"
    "vllm-openai" = "OpenAI-compatible vLLM ${VLLM_REF} server (DeepSeek-V4, aiter mHC)"
  }[title]
}

// the name of every label this project writes, by role: the one place a label is named. Python reads this map
// from `bake --print label-names` (graph.label_names), the image from its build-info.json, so renaming a label is
// one line here
function "label_names" {
  params = []
  result = {
    source           = "org.opencontainers.image.source"
    revision         = "org.opencontainers.image.revision"
    version          = "org.opencontainers.image.version"
    created          = "org.opencontainers.image.created"
    title            = "org.opencontainers.image.title"
    description      = "org.opencontainers.image.description"
    base_name        = "org.opencontainers.image.base.name"
    base_digest      = "org.opencontainers.image.base.digest"
    aiter_ref        = "org.rocm-images.aiter.ref"
    aiter_commit     = "org.rocm-images.aiter.commit"
    aiter_fix        = "org.rocm-images.aiter.required-fix"
    vllm_ref         = "org.rocm-images.vllm.ref"
    tilelang         = "org.rocm-images.tilelang.version"
    patch_series     = "org.rocm-images.patch-series.sha256"
    profile          = "org.rocm-images.profile"
    project          = "org.rocm-images.project"
    gpu_archs        = "org.rocm-images.gpu-archs"
    sandbox          = "org.rocm-images.sandbox"
    torch_wheel      = "org.rocm-images.torch-wheel"
    compression      = "org.rocm-images.compression"
    negative_control = "org.rocm-images.negative-control"
  }
}

function "label" {
  params = [role]
  result = label_names()[role]
}

// not an image (the CLI refuses to build it): how Python reads the label names
target "label-names" {
  labels = label_names()
}

// the labels of a published image, by role; build_info() carries the same map into the image's build-info.json
function "labels" {
  params = [title]
  result = merge({
    (label("source"))       = SOURCE_URL
    (label("revision"))     = GIT_SHA
    (label("version"))      = version()
    (label("created"))      = CREATED
    (label("title"))        = title
    (label("description"))  = description(title)
    (label("aiter_ref"))    = AITER_BRANCH
    (label("aiter_commit")) = AITER_COMMIT
    (label("aiter_fix"))    = AITER_REQUIRED_FIX
    (label("vllm_ref"))     = VLLM_REF
    (label("tilelang"))     = TILELANG_VERSION
    (label("patch_series")) = PATCH_SERIES_SHA256
    (label("profile"))      = PROFILE
    (label("project"))      = PROJECT
    (label("gpu_archs"))    = GPU_ARCHS
    (label("base_name"))    = BASE_IMAGE
    (label("compression"))  = COMPRESSION
  }, BASE_DIGEST == "" ? {} : { (label("base_digest")) = BASE_DIGEST },
  SANDBOX_NOTE == "" ? {} : { (label("sandbox")) = SANDBOX_NOTE },
  TORCH_WHEEL == "" ? {} : { (label("torch_wheel")) = TORCH_WHEEL })
}

// the BUILD_INFO arg: an image's labels and their names by role, for build-info.json (what code inside the
// image reads instead of naming labels itself)
function "build_info" {
  params = [image_labels]
  result = jsonencode({ labels = image_labels, label_names = label_names() })
}

function "cache_from" {
  params = [name]
  result = CACHE == "local" ? ["type=local,src=${CACHE_DIR}/${name}"] : CACHE == "registry" ? ["type=registry,ref=${CACHE_REF}:${name}"] : []
}

function "cache_to" {
  params = [name]
  result = CACHE == "local" ? ["type=local,dest=${CACHE_DIR}/${name},mode=max"] : CACHE == "registry" ? ["type=registry,ref=${CACHE_REF}:${name},mode=max"] : []
}

// SBOM + provenance on the images clusters pull; none in the sandbox (its SBOM scanner image cannot be
// pulled offline, and sandbox images are never published)
function "attest" {
  params = []
  result = PROFILE == "production" ? ["type=sbom", "type=provenance,mode=max"] : []
}

// every image this graph builds (the intermediate ones bake loads too) says it is ours: `make clean-images`
// and the test suite's clean-up decide by this label, not by names
variable "PROJECT" { default = "rocm-vllm-images" }

// Every target builds into the cache alone unless it sets an output (the published images and the controls do):
// buildx exports a target that another pulls in by `target:` as an untagged image whatever its output says, unless
// the target is also requested, so the CLI requests each of them (graph.with_contexts) and this keeps them images
// of no one (a multi-GiB compiler root exported and unpacked on every build stalled the engine past its deadline).
target "_common" {
  context = "."
  output  = ["type=cacheonly"]
  labels  = { (label("project")) = PROJECT }
  secret  = ["id=hostca,src=${HOST_CA}"]
  args = {
    PYTHON_VERSION      = PYTHON_VERSION
    GPU_ARCHS           = GPU_ARCHS
    PYTORCH_ROCM_ARCH   = PYTORCH_ROCM_ARCH
    AITER_BRANCH        = AITER_BRANCH
    AITER_COMMIT        = AITER_COMMIT
    AITER_REQUIRED_FIX  = AITER_REQUIRED_FIX
    AITER_MIN_VERSION   = AITER_MIN_VERSION
    TILELANG_VERSION    = TILELANG_VERSION
    TVM_FFI_VERSION     = TVM_FFI_VERSION
    PATCH_MODE          = PATCH_MODE
    MAX_JOBS            = MAX_JOBS
  }
}

// ---- production sources (the sandbox overlay replaces these) ----
target "_sources" {
  contexts = {
    base              = "docker-image://${BASE_IMAGE}"
    tools             = "src"
    patches           = "images/vllm/patches/${VLLM_REF}"
    vllm-src          = VLLM_SRC_DIR
    requirements-drop = "images/vllm/requirements-drop/production"
    aiter-requirements-drop = "images/rocm_base/aiter-requirements-drop/production"
  }
  args = {
    PYTORCH_REPO          = PYTORCH_REPO
    PYTORCH_BRANCH        = PYTORCH_BRANCH
    PYTORCH_VISION_REPO   = PYTORCH_VISION_REPO
    PYTORCH_VISION_BRANCH = PYTORCH_VISION_BRANCH
    PYTORCH_AUDIO_REPO    = PYTORCH_AUDIO_REPO
    PYTORCH_AUDIO_BRANCH  = PYTORCH_AUDIO_BRANCH
    TRITON_REPO           = TRITON_REPO
    TRITON_BRANCH         = TRITON_BRANCH
    TRITON_CHERRY_PICKS   = TRITON_CHERRY_PICKS
    FA_REPO               = FA_REPO
    FA_BRANCH             = FA_BRANCH
    MORI_REPO             = MORI_REPO
    MORI_BRANCH           = MORI_BRANCH
    AITER_REPO            = AITER_REPO
    CLR_REPO              = CLR_REPO
    CLR_COMMIT            = CLR_COMMIT
    NIC_BACKEND           = NIC_BACKEND
    AINIC_VERSION         = AINIC_VERSION
    BNXT_ROCELIB_VERSION  = BNXT_ROCELIB_VERSION
    VLLM_TARGET_DEVICE    = "rocm"
  }
}

target "_rocm_base" {
  inherits   = ["_common", "_sources"]
  dockerfile = "docker/Dockerfile.rocm_base"
  cache-from = cache_from("rocm_base")
}

// the published images, one shape: each is its Dockerfile's stage of the same name
target "image" {
  name       = title
  matrix     = { title = ["rocm_base", "vllm", "vllm-openai"] }
  inherits   = [title == "rocm_base" ? "_rocm_base" : "_vllm"]
  target     = title
  tags       = [image_ref(title)]
  labels     = labels(title)
  args       = { BUILD_INFO = build_info(labels(title)) }
  cache-from = cache_from(title)
  cache-to   = cache_to(title)
  attest     = attest()
  output     = image_output()
}

// one target per component stage (as upstream's Dockerfile.rocm_base has them): `make print PROFILE=production`
// lists them, and a maintainer can build one alone, e.g. `docker buildx bake -f bake.hcl build_pytorch`
target "component" {
  name     = "build_${c}"
  matrix   = { c = ["triton", "amdsmi", "pytorch", "fa", "mori", "aiter"] }
  inherits = ["_rocm_base"]
  target   = "build_${c}"
}

// what the vllm layers build on: rocm_base without its per-build label layer (keeps their cache warm)
target "rocm_base-core" {
  inherits = ["_rocm_base"]
  target   = "rocm_base_core"
}

target "_vllm" {
  inherits   = ["_common", "_sources"]
  dockerfile = "docker/Dockerfile.vllm"
  contexts   = { rocm_base = "target:rocm_base-core", build-tools = "target:build-tools" }
}

// the os stage alone (the sandbox wheel set builds on it)
target "rocm_base-os" {
  inherits   = ["_common"]
  dockerfile = "docker/Dockerfile.rocm_base"
  target     = "os"
  contexts   = { base = "docker-image://${BASE_IMAGE}" }
}

target "build-tools" {
  inherits   = ["_common", "_sources"]
  dockerfile = "docker/Dockerfile.rocm_base"
  target     = "build-tools"
}

// ---- negative controls: images the verification suite must FAIL on ----
// labelled as such (image and build-info), so one is never mistaken for a real image
function "control_labels" {
  params = [name]
  result = merge(labels("vllm"), {
    (label("negative_control")) = {
      "test-no-module-mhc" = "NEGATIVE CONTROL: aiter built without module_mhc.so"
      "test-unpatched"     = "NEGATIVE CONTROL: vLLM without the mHC patch series"
      "test-old-aiter"     = "NEGATIVE CONTROL: aiter ${AITER_CONTROL_BRANCH}, without the sqrsum race fix (labels name the pin, not the content)"
    }[name]
  })
}

// one image per control: the vllm target with one source swapped (a context) and its own negative-control label
target "control" {
  name     = control
  matrix   = { control = ["test-no-module-mhc", "test-unpatched", "test-old-aiter"] }
  inherits = ["vllm"]
  tags     = [image_ref(control)]
  contexts = {
    "test-no-module-mhc" = { rocm_base = "target:rocm_base-no-module-mhc" }
    "test-unpatched"     = { patches = "images/vllm/patches/empty" }
    "test-old-aiter"     = { rocm_base = "target:rocm_base-old-aiter" }
  }[control]
  labels = control_labels(control)
  args = merge({ BUILD_INFO = build_info(control_labels(control)) },
  control == "test-no-module-mhc" ? { MODULE_MHC_REQUIRED = "0" } : {})
}

target "rocm_base-no-module-mhc" {
  inherits = ["rocm_base-core"]
  tags     = []
  args     = { PREBUILD_KERNELS = "0", MODULE_MHC_REQUIRED = "0" }
}

target "rocm_base-old-aiter" {
  inherits = ["rocm_base-core"]
  tags     = []
  args     = { AITER_BRANCH = AITER_CONTROL_BRANCH, AITER_GUARD = "report" }
}

group "default" { targets = ["rocm_base", "vllm", "vllm-openai"] }
group "negative" { targets = ["test-no-module-mhc", "test-unpatched", "test-old-aiter"] }
group "all" { targets = ["default", "negative"] }
group "components" { targets = ["component"] }
