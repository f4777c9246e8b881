#!/usr/bin/env bash
# Configures and builds minivmm into build/ (or $1), RelWithDebInfo with Ninja. Extra arguments
# after the build directory are passed to cmake's configure step (e.g. -DMINIVMM_SANITIZE=ON).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/build}
shift || true
cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
