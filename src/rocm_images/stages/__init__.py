"""Code the build stages run (Dockerfile.rocm_base's build-tools stage copies this folder whole). Never
imports host/."""
