// SANDBOX STAND-IN for the host side of aiter's module_mhc.so: a CPU build with the pinned aiter's (AITER_BRANCH)
// pybind names and argument names (csrc/include/rocm_ops.hpp:1932-1964, MHC_PYBIND), its kernels' input checks and messages
// (csrc/kernels/mhc_kernels.cu, lines named below). The math is ours, written from aiter's reference in
// op_tests/test_mhc.py (mhc_pre_ref :341, mhc_post_ref :573) as plain loops, so aiter's real Python wrapper
// (aiter/ops/mhc.py) and loader (aiter/jit/core.py) run on top of it. The device code beside it (.hip_fatbin) is hipcc's
// build of aiter's own mhc kernels (stages/aiter_cpu.py), which nothing here launches: never a ROCm result.
// The arch and CU count come from ROCM_IMAGES_STANDIN_GFX (default gfx950), as the sandbox amdsmi and rocminfo.

#include <torch/extension.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

const char* const STANDIN =
    "sandbox stand-in: CPU build of aiter's module_mhc host side; its .hip_fatbin is hipcc's build of aiter's mhc "
    "kernels, which cannot run here";

std::string gpu_arch() {
    const char* gfx = std::getenv("ROCM_IMAGES_STANDIN_GFX");
    return (gfx != nullptr && *gfx != '\0') ? gfx : "gfx950";
}

// get_num_cu_func(): MI300X / MI355X compute units
int num_cu() { return gpu_arch() == "gfx942" ? 304 : 256; }

// AITER_DISPATCH_FLOATING16_TYPES (csrc/include/dispatch_utils.h:48), torch's AT_DISPATCH_SWITCH: fp16/bf16 only,
// else its NotImplementedError and message
void dispatch_fp16(const at::Tensor& t, const char* name) {
    const at::ScalarType st = t.scalar_type();
    TORCH_CHECK_NOT_IMPLEMENTED(st == at::kHalf || st == at::kBFloat16, '"', name, "\" not implemented for '",
                                c10::toString(st), "'");
}

// the real kernels divide by the token count (mhc_kernels.cu:520, :859): SIGFPE on a GPU; here Python's error
[[noreturn]] void division_by_zero_tokens() {
    PyErr_SetString(PyExc_ZeroDivisionError, "integer division by zero: the token count m is 0");
    throw pybind11::error_already_set();
}

std::vector<float> as_floats(const at::Tensor& t) {
    at::Tensor f = t.detach().to(at::kCPU, at::kFloat).contiguous();
    return std::vector<float>(f.data_ptr<float>(), f.data_ptr<float>() + f.numel());
}

// writes values (row-major in t's shape) into t, whatever its strides and dtype
void store(at::Tensor& t, const std::vector<float>& values) {
    at::Tensor src = torch::from_blob(const_cast<float*>(values.data()), t.sizes(), at::kFloat);
    t.copy_(src);
}

float sigmoid(float v) { return 1.0f / (1.0f + std::exp(-v)); }

}  // namespace

namespace aiter {

// mhc_kernels.cu:255: per split s, out[s, i, j] = x[i, k] . fn[j, k] and sqrsum[s, i] = x[i, k]^2 over its k range
void mhc_pre_gemm_sqrsum(torch::Tensor& out, torch::Tensor& sqrsum, torch::Tensor& x, torch::Tensor& fn,
                         int tile_k = 128) {
    TORCH_CHECK(out.size(0) == sqrsum.size(0), "out and sqrsum must have the same number of split_k or m");  // :263
    const int64_t m = x.size(0);
    const int64_t hc_mult3 = fn.size(0);
    const int64_t hc_hidden_size = fn.size(1);
    const int64_t split_k = out.dim() > 2 ? out.size(0) : 1;
    if (tile_k != 64 && !(tile_k == 128 || hc_mult3 <= 16)) {
        TORCH_CHECK(false, "tile_k must be 64 or 128");  // :250
    }
    const int64_t tile = tile_k == 64 ? 64 : 128;
    dispatch_fp16(x, "mhc_pre_gemm_sqrsum");  // :216
    TORCH_CHECK(hc_hidden_size % (tile * split_k) == 0, "hc_hidden_size must be divisible by tile_k * split_k");
    TORCH_CHECK(hc_hidden_size >= (tile * split_k) * 2,
                "hc_hidden_size must >= tile_k * split_k * 2 stages prefetch");  // :221-222

    const std::vector<float> xs = as_floats(x);  // (m, hc_hidden_size), x may be (m, hc_mult, hidden)
    const std::vector<float> ws = as_floats(fn);
    const int64_t chunk = hc_hidden_size / split_k;
    std::vector<float> acc(split_k * m * hc_mult3, 0.0f);
    std::vector<float> sq(split_k * m, 0.0f);
    for (int64_t s = 0; s < split_k; ++s) {
        for (int64_t i = 0; i < m; ++i) {
            const float* row = xs.data() + i * hc_hidden_size + s * chunk;
            float ss = 0.0f;
            for (int64_t k = 0; k < chunk; ++k) ss += row[k] * row[k];
            sq[s * m + i] = ss;
            for (int64_t j = 0; j < hc_mult3; ++j) {
                const float* w = ws.data() + j * hc_hidden_size + s * chunk;
                float dot = 0.0f;
                for (int64_t k = 0; k < chunk; ++k) dot += row[k] * w[k];
                acc[(s * m + i) * hc_mult3 + j] = dot;
            }
        }
    }
    store(out, acc);
    store(sqrsum, sq);
}

// mhc_kernels.cu:561: RMS scale from the summed splits, pre/post mixes, sinkhorn on the comb mix, layer_input
void mhc_pre_big_fuse(torch::Tensor& post_mix, torch::Tensor& comb_mix, torch::Tensor& layer_input,
                      torch::Tensor& gemm_out_mul, torch::Tensor& gemm_out_sqrsum, torch::Tensor& hc_scale,
                      torch::Tensor& hc_base, torch::Tensor& residual, float rms_eps = 1e-6, float hc_pre_eps = 1e-6,
                      float hc_sinkhorn_eps = 1e-6, float hc_post_mult_value = 1.0, int sinkhorn_repeat = 20) {
    const int64_t m = residual.size(0);
    const int64_t hc = residual.size(1);
    const int64_t hidden = residual.size(2);
    const int64_t n_splits = gemm_out_mul.dim() > 2 ? gemm_out_mul.size(0) : 1;
    const int64_t hc_mult3 = gemm_out_mul.size(-1);
    TORCH_CHECK(hc == 4, "hc_mult only supports 4");  // :583
    // MHC_PRE_BIG_FUSE_KERNEL_DISPATCH (:555-559): residual_block 128 on gfx942 beyond cu_num * 12 tokens
    const int64_t block = (m <= num_cu() * 12 || gpu_arch() != "gfx942") ? 256 : 128;
    TORCH_CHECK(hidden % block == 0, "hidden_size must be divisible by residual_block");  // :516
    TORCH_CHECK(hidden >= block * 2, "hidden_size must be >= residual_block * 2 stages prefetch");  // :517
    if (m == 0) division_by_zero_tokens();  // :520, cu_num * num_tg_cu / m_blocks
    dispatch_fp16(layer_input, "mhc_pre_big_fuse");  // :529

    const std::vector<float> gemm = as_floats(gemm_out_mul);
    const std::vector<float> sqsum = as_floats(gemm_out_sqrsum);
    const std::vector<float> scale = as_floats(hc_scale);
    const std::vector<float> base = as_floats(hc_base);
    const std::vector<float> res = as_floats(residual);
    std::vector<float> post = as_floats(post_mix);  // untouched in hc_head mode (sinkhorn_repeat == 0)
    std::vector<float> comb = as_floats(comb_mix);
    std::vector<float> layer(m * hidden, 0.0f);
    std::vector<float> mix(hc_mult3);
    std::vector<float> pre(hc);
    std::vector<float> cm(hc * hc);
    for (int64_t i = 0; i < m; ++i) {
        float ss = 0.0f;
        for (int64_t s = 0; s < n_splits; ++s) ss += sqsum[s * m + i];
        const float rms = 1.0f / std::sqrt(ss / static_cast<float>(hc * hidden) + rms_eps);
        for (int64_t j = 0; j < hc_mult3; ++j) {
            float v = 0.0f;
            for (int64_t s = 0; s < n_splits; ++s) v += gemm[(s * m + i) * hc_mult3 + j];
            mix[j] = v * rms;
        }
        for (int64_t j = 0; j < hc; ++j) pre[j] = sigmoid(mix[j] * scale[0] + base[j]) + hc_pre_eps;
        if (sinkhorn_repeat > 0) {  // :475
            for (int64_t j = 0; j < hc; ++j) {
                post[i * hc + j] = sigmoid(mix[hc + j] * scale[1] + base[hc + j]) * hc_post_mult_value;
            }
            for (int64_t j = 0; j < hc * hc; ++j) cm[j] = mix[2 * hc + j] * scale[2] + base[2 * hc + j];
            // softmax over each row, + eps, then alternate column and row normalisation
            for (int64_t r = 0; r < hc; ++r) {
                float top = cm[r * hc];
                for (int64_t c = 1; c < hc; ++c) top = std::max(top, cm[r * hc + c]);
                float total = 0.0f;
                for (int64_t c = 0; c < hc; ++c) total += (cm[r * hc + c] = std::exp(cm[r * hc + c] - top));
                for (int64_t c = 0; c < hc; ++c) cm[r * hc + c] = cm[r * hc + c] / total + hc_sinkhorn_eps;
            }
            for (int rep = 0; rep < sinkhorn_repeat; ++rep) {
                if (rep > 0) {
                    for (int64_t r = 0; r < hc; ++r) {
                        float total = 0.0f;
                        for (int64_t c = 0; c < hc; ++c) total += cm[r * hc + c];
                        for (int64_t c = 0; c < hc; ++c) cm[r * hc + c] /= total + hc_sinkhorn_eps;
                    }
                }
                for (int64_t c = 0; c < hc; ++c) {
                    float total = 0.0f;
                    for (int64_t r = 0; r < hc; ++r) total += cm[r * hc + c];
                    for (int64_t r = 0; r < hc; ++r) cm[r * hc + c] /= total + hc_sinkhorn_eps;
                }
            }
            for (int64_t j = 0; j < hc * hc; ++j) comb[i * hc * hc + j] = cm[j];
        }
        for (int64_t j = 0; j < hc; ++j) {
            const float* row = res.data() + (i * hc + j) * hidden;
            float* outrow = layer.data() + i * hidden;
            for (int64_t h = 0; h < hidden; ++h) outrow[h] += pre[j] * row[h];
        }
    }
    store(layer_input, layer);
    if (sinkhorn_repeat > 0) {
        store(post_mix, post);
        store(comb_mix, comb);
    }
}

// mhc_kernels.cu:895: out[i, j, h] = x[i, h] * post[i, j] + sum_k comb[i, k, j] * residual[i, k, h]
void mhc_post(torch::Tensor& out, torch::Tensor& x, torch::Tensor& residual, torch::Tensor& post_layer_mix,
              torch::Tensor& comb_res_mix) {
    const int64_t m = residual.size(0);
    const int64_t hc = residual.size(1);
    const int64_t hidden = residual.size(2);
    TORCH_CHECK(hc == 4, "hc_mult only supports 4");  // :908
    // MHC_POST_KERNEL_DISPATCH (:884-893): the widest residual block that divides hidden (1024 not on gfx942)
    int64_t block = 0;
    if (gpu_arch() != "gfx942" && hidden % 1024 == 0) {
        block = 1024;
    } else if (hidden % 512 == 0) {
        block = 512;
    } else if (hidden % 256 == 0) {
        block = 256;
    } else {
        TORCH_CHECK(false, "hidden_size must be divisible by 256");  // :892
    }
    TORCH_CHECK(hidden % block == 0, "hidden_size must be divisible by residual_block");  // :855
    TORCH_CHECK(hidden >= block * 2, "hidden_size must be >= residual_block * 2 stages prefetch");  // :856
    if (m == 0) division_by_zero_tokens();  // :859, cu_num * num_tg_cu / m
    dispatch_fp16(x, "mhc_post");  // :868

    const std::vector<float> xs = as_floats(x);
    const std::vector<float> res = as_floats(residual);
    const std::vector<float> post = as_floats(post_layer_mix);
    const std::vector<float> comb = as_floats(comb_res_mix);
    std::vector<float> result(m * hc * hidden);
    for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < hc; ++j) {
            float* dst = result.data() + (i * hc + j) * hidden;
            const float* xrow = xs.data() + i * hidden;
            for (int64_t h = 0; h < hidden; ++h) dst[h] = xrow[h] * post[i * hc + j];
            for (int64_t k = 0; k < hc; ++k) {
                const float w = comb[(i * hc + k) * hc + j];
                const float* rrow = res.data() + (i * hc + k) * hidden;
                for (int64_t h = 0; h < hidden; ++h) dst[h] += w * rrow[h];
            }
        }
    }
    store(out, result);
}

}  // namespace aiter

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
    m.attr("__standin__") = STANDIN;
    m.def("mhc_pre_gemm_sqrsum", &aiter::mhc_pre_gemm_sqrsum, "mhc_pre_gemm_sqrsum", py::arg("out"),
          py::arg("sqrsum"), py::arg("x"), py::arg("fn"), py::arg("tile_k") = 128);
    m.def("mhc_pre_big_fuse", &aiter::mhc_pre_big_fuse, "mhc_pre_big_fuse", py::arg("post_mix"), py::arg("comb_mix"),
          py::arg("layer_input"), py::arg("gemm_out_mul"), py::arg("gemm_out_sqrsum"), py::arg("hc_scale"),
          py::arg("hc_base"), py::arg("residual"), py::arg("rms_eps") = 1e-6, py::arg("hc_pre_eps") = 1e-6,
          py::arg("hc_sinkhorn_eps") = 1e-6, py::arg("hc_post_mult_value") = 1.0, py::arg("sinkhorn_repeat") = 20);
    m.def("mhc_post", &aiter::mhc_post, "mhc_post", py::arg("out"), py::arg("x"), py::arg("residual"),
          py::arg("post_layer_mix"), py::arg("comb_res_mix"));
}
