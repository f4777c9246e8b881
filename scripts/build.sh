#!/usr/bin/env bash
# Configures and builds minivmm into build/ (or $1), RelWithDebInfo with Ninja: the layer
# libraries, libminivmm.so/.a, the CLI, examples and tests. Extra arguments after the build
# directory are passed to cmake's configure step (e.g. -DMINIVMM_SANITIZE=ON). With PREFIX set,
# installs there afterwards (CLI, libraries, headers, CMake package, pkg-config files), e.g.
# `PREFIX=$HOME/.local scripts/build.sh`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/build}
shift || true
cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
if [ -n "${PREFIX:-}" ]; then
  cmake --install "$dir" --prefix "$PREFIX"
fi
