#!/bin/sh
# Provide python$1 with venv at /opt/venv. Debian (sandbox) has it; Ubuntu 22.04 (ROCm base) gets it
# from the deadsnakes PPA, as vLLM's own rocm_base does.
set -eu
py="python$1"
if ! command -v "$py" >/dev/null 2>&1; then
  apt-install software-properties-common git gcc
  host-ca add-apt-repository -y ppa:deadsnakes/ppa
  apt-install "$py" "$py-dev" "$py-venv"
fi
"$py" -m venv /opt/venv
/opt/venv/bin/python -m pip --version
