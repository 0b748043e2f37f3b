#!/usr/bin/env bash
# Installs every build, test and benchmark dependency of deckhand from
# Debian 12's packages. Idempotent: does nothing when all are present.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake pkg-config git binutils
  # libraries the agent links (see DESIGN.md, conventions)
  libboost-dev libboost-program-options-dev libyaml-cpp-dev libspdlog-dev libfmt-dev
  prometheus-cpp-dev nlohmann-json3-dev nettle-dev
  # the runtime plugin: seccomp filters, capability names
  libseccomp-dev libcap-dev
  # the storage plugin: TLS and hashing, tar with gzip and zstd
  libssl-dev libcurl4-openssl-dev libarchive-dev zlib1g-dev libzstd-dev
  # tests: GoogleTest, promtool (package prometheus), curl, setpriv (util-linux)
  libgtest-dev libgmock-dev prometheus curl util-linux
  # container tests and the runc comparison: busybox root filesystems, the reference runtime
  busybox-static runc jq
  # storage tests and the containerd comparison: a real registry (with htpasswd
  # auth), images built with umoci and pushed with skopeo, containerd and ctr
  docker-registry apache2-utils skopeo umoci containerd
  # the network plugin: netlink (libnl route) and nftables; its tests and the
  # CNI bridge comparison: iproute2, ping and the reference CNI plugins
  libnl-3-dev libnl-route-3-dev libnftables-dev iproute2 iputils-ping containernetworking-plugins
  # fuzzing: clang with libFuzzer
  clang libclang-rt-14-dev
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages (${missing[*]}); run as root to install them" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
