"""Make the real vLLM code believe it runs on a ROCm or CUDA platform while every tensor stays on the CPU."""


def set_platform(name: str) -> None:
    import vllm.platforms as platforms

    if name == "rocm":
        from vllm.platforms.rocm import RocmPlatform as P
    else:
        # CudaPlatform's module needs the compiled vllm._C; the interface with the CUDA enum is what
        # CustomOp dispatch (forward_cuda) and the mHC code consult
        from vllm.platforms.interface import Platform, PlatformEnum

        class P(Platform):
            _enum = PlatformEnum.CUDA
            device_name = device_type = "cuda"
    P.dispatch_key = "CPU"  # vLLM registers custom ops for this key; the test tensors live on the CPU
    platforms._current_platform = P()


def record_aiter_calls() -> None:
    """Append the name of every aiter mHC entry point vLLM calls to $FAKE_AITER_LOG (vLLM imports them from
    aiter.ops.mhc at call time, so wrapping the module's attributes sees every call)."""
    import functools
    import os

    import aiter.ops.mhc as aiter_mhc

    def recording(name, fn):
        @functools.wraps(fn)
        def call(*args, **kwargs):
            with open(os.environ["FAKE_AITER_LOG"], "a") as f:
                f.write(name + "\n")
            return fn(*args, **kwargs)

        return call

    for name in ("mhc_pre", "mhc_post"):
        setattr(aiter_mhc, name, recording(name, getattr(aiter_mhc, name)))
