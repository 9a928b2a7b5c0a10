#!/bin/sh
# The NIC user-space providers mori's RDMA transport dlopens, as vLLM's Dockerfile.rocm (mori_base) installs them:
# $1 NIC_BACKEND (all, ainic, bnxt or none), $2 AINIC_VERSION (AMD AINIC / Pensando repository), $3
# BNXT_ROCELIB_VERSION (Broadcom Thor-2). Ubuntu packages from the vendors' apt repositories: the ROCm base is
# Ubuntu; the host needs the matching kernel drivers.
set -eu
backend=$1 ainic_version=$2 bnxt_version=$3

ainic() {
  apt-install ca-certificates curl gnupg apt-transport-https
  # shellcheck disable=SC1091  # the image's own os-release
  codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
  mkdir -p /etc/apt/keyrings
  host-ca curl -fsSL https://repo.radeon.com/rocm/rocm.gpg.key | gpg --dearmor > /etc/apt/keyrings/amdainic.gpg
  echo "deb [arch=amd64 signed-by=/etc/apt/keyrings/amdainic.gpg]" \
    "https://repo.radeon.com/amdainic/pensando/ubuntu/${ainic_version} ${codename} main" \
    > /etc/apt/sources.list.d/amdainic.list
  apt-install libionic-dev ionic-common
}

bnxt() {
  install -m 0755 -d /etc/apt/keyrings
  host-ca curl -fsSL https://packages.broadcom.com/artifactory/api/security/keypair/PackagesKey/public \
    -o /etc/apt/keyrings/broadcom-nic.asc
  chmod a+r /etc/apt/keyrings/broadcom-nic.asc
  echo "deb [arch=amd64 signed-by=/etc/apt/keyrings/broadcom-nic.asc]" \
    "https://packages.broadcom.com/artifactory/ethernet-nic-debian-public jammy main" \
    > /etc/apt/sources.list.d/broadcom-nic.list
  apt-install "bnxt-rocelib=${bnxt_version}"
  cp -a /usr/local/lib/x86_64-linux-gnu/libbnxt_re* /usr/local/lib/
  ldconfig
}

case "$backend" in
  none) ;;
  all) ainic; bnxt ;;
  ainic) ainic ;;
  bnxt) bnxt ;;
  *) echo "NIC_BACKEND=$backend is not one of none, ainic, bnxt, all" >&2; exit 2 ;;
esac
echo "NIC_BACKEND=${backend}: mori's NIC providers installed"
