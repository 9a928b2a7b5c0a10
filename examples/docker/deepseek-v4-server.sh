#!/bin/sh
# DeepSeek-V4 server with plain docker on an 8-GPU AMD Instinct host (no TTY needed: runs from cron or CI too).
# The entrypoint checks the mHC knobs first (a bad value stops the container with one line); vLLM then logs
# the mHC path it takes ("DeepSeek-V4 mHC on ROCm: ..."). Device and security flags as AMD recommends for ROCm.
# Serving flags as the mHC pull request measured with; keep VLLM_ROCM_USE_TILELANG_MHC=0 on MI300X/MI325X.
set -eu
IMAGE="${IMAGE:-registry.example.com/ml/vllm-openai@sha256:DIGEST_FROM_MAKE_PUSH}"
MODELS="${MODELS:-/data/models}"   # holds DeepSeek-V4-Pro/ and the Hugging Face cache (.hf/)
PORT="${PORT:-8000}"
# shellcheck disable=SC2086 # GPU_FLAGS is a list of flags
exec docker run --rm --name "${NAME:-deepseek-v4}" \
  ${GPU_FLAGS---device /dev/kfd --device /dev/dri --group-add video --group-add render} \
  --cap-add SYS_PTRACE --security-opt seccomp=unconfined --ipc=host --shm-size 64g \
  -e VLLM_ROCM_USE_AITER=1 \
  -e VLLM_ROCM_USE_TILELANG_MHC=0 \
  -e HF_HOME=/models/.hf -e HF_TOKEN \
  -v "$MODELS:/models" -p "$PORT:8000" \
  "$IMAGE" /models/DeepSeek-V4-Pro \
  --served-model-name deepseek-v4 --tensor-parallel-size 8 --gpu-memory-utilization 0.8 \
  --kv-cache-dtype fp8 --moe-backend triton_unfused \
  --compilation-config '{"mode":3,"cudagraph_mode":"FULL_AND_PIECEWISE"}' --port 8000
