#!/bin/sh
# DeepSeek-V4 server with plain docker on an AMD Instinct host (no TTY needed: runs from cron or CI too).
# The entrypoint checks the mHC knobs first (a bad value stops the container with one line); vLLM then logs
# the mHC path it takes ("DeepSeek-V4 mHC on ROCm: ..."). Device and security flags as AMD recommends for ROCm.
set -eu
IMAGE="${IMAGE:-registry.example.com/ml/vllm-openai@sha256:DIGEST_FROM_MAKE_PUSH}"
exec docker run --rm \
  --device /dev/kfd --device /dev/dri --group-add video --group-add render \
  --cap-add SYS_PTRACE --security-opt seccomp=unconfined --ipc=host --shm-size 64g \
  -e VLLM_ROCM_USE_AITER=1 \
  -e VLLM_ROCM_USE_TILELANG_MHC=0 \
  -v /data/models:/models:ro -p 8000:8000 \
  "$IMAGE" /models/deepseek-v4 --tensor-parallel-size 8 --trust-remote-code
