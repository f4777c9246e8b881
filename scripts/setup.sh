#!/usr/bin/env bash
# Installs every build, test and harness dependency of minivmm from Debian packages.
# Idempotent and non-interactive: it installs only what is missing, so a second run costs a
# dpkg query. It does not build anything; see scripts/build.sh and guest-kernel-config/build.sh.
set -euo pipefail

packages=(
  # build; gcc, binutils (readelf, nm) and pkg-config also for the package test's consumers
  cmake ninja-build g++ gcc binutils pkg-config clang-format
  # libraries (DESIGN.md / the brief's dependency list)
  libboost-dev libfmt-dev libspdlog-dev libcli11-dev nlohmann-json3-dev libexpected-dev
  libfdt-dev libxbyak-dev doctest-dev liburing-dev libseccomp-dev libbenchmark-dev
  # fuzzing and sanitizers
  clang libclang-rt-14-dev
  # nested harness and guest images
  qemu-system-x86 qemu-system-common busybox-static e2fsprogs cpio xz-utils gzip kmod iproute2
  # guest kernel build
  linux-source-6.1 make bc bison flex libelf-dev libssl-dev dwarves python3
  # benchmarks (bench/, on demand): charts
  gnuplot-nox
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi
echo "setup: installing ${#missing[@]} packages: ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
