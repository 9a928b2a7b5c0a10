// SANDBOX STAND-IN for ROCm torch's ATen/hip/impl/HIPGuardImplMasqueradingAsCUDA.h, which the CPU torch wheel lacks
// (no ATen/hip, no c10/hip). aiter's csrc/kernels/mhc_kernels.cu includes it for its host launchers (a device guard
// and the current stream); the sandbox compiles that file for its device code only (--cuda-device-only), so the host
// side needs these names to parse, never to run.
#pragma once
#include <c10/core/Device.h>
#include <hip/hip_runtime.h>

#include <optional>

namespace c10::hip {
struct OptionalHIPGuardMasqueradingAsCUDA {
    explicit OptionalHIPGuardMasqueradingAsCUDA(std::optional<c10::Device> /*device*/) {}
};
inline hipStream_t getCurrentHIPStream() { return nullptr; }
}  // namespace c10::hip

namespace at {
namespace hip = c10::hip;
}  // namespace at
