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
