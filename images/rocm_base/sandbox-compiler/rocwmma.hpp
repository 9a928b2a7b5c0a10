// SANDBOX STAND-IN for rocWMMA's rocwmma/rocwmma.hpp (production: /opt/rocm/include). tilelang's (TILELANG_VERSION) HIP
// templates include it but call no rocWMMA API; Debian's librocwmma-dev lacks headers it includes itself, so this
// header brings only the HIP types those templates use.
#pragma once
#include <hip/hip_bfloat16.h>
#include <hip/hip_fp16.h>
