#!/bin/sh
# DeepSeek-V4 server with plain docker on an AMD Instinct host. The entrypoint checks the mHC knobs first
# and logs the mHC path it will use; a bad value stops the container with one line.
set -eu
IMAGE="${IMAGE:-registry.example.com/ml/vllm-openai@sha256:DIGEST_FROM_MAKE_PUSH}"
exec docker run --rm -it \
  --device /dev/kfd --device /dev/dri --group-add video --group-add render \
  --ipc=host --shm-size 64g --security-opt seccomp=unconfined \
  -e VLLM_ROCM_USE_AITER=1 \
  -e VLLM_ROCM_USE_TILELANG_MHC=0 \
  -v /data/models:/models:ro -p 8000:8000 \
  "$IMAGE" /models/deepseek-v4 --tensor-parallel-size 8 --trust-remote-code
