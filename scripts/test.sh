#!/usr/bin/env bash
# The one command that runs every minivmm test (README "Run all tests"; .ci/run calls it).
# Steps, each with a progress line: install dependencies, build, unit tests (plain and under
# ASan+UBSan), the package test (install into a temporary prefix, build and run programs outside
# the tree against libminivmm.so and libminivmm.a), KVM tests with tiny guests on the host's
# /dev/kvm, a short libFuzzer run of every fuzz target (clang), the guest kernel build (cached
# outside the checkout), and the end-to-end tests with real Linux in the nested KVM harness.
# Ends with one line "N passed, M failed" counting the suites; exits non-zero if any failed.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
t0=$SECONDS
passed=0
failed=0
failures=()
step() { echo "test: [$((SECONDS - t0))s] $*" >&2; }
suite() {  # suite NAME COMMAND...: runs one suite and counts it
  local name=$1
  shift
  step "running $name"
  if "$@"; then
    passed=$((passed + 1))
    step "$name passed"
  else
    failed=$((failed + 1))
    failures+=("$name")
    step "$name FAILED"
  fi
}

step "installing dependencies (scripts/setup.sh)"
bash scripts/setup.sh || { echo "test: setup failed" >&2; exit 1; }
step "building (build/)"
scripts/build.sh build || { echo "test: build failed" >&2; exit 1; }
step "building unit tests with ASan+UBSan (build-asan/)"
# Exactly the unit-test executables ctest will run there (unit_boot ... unit_vmm, unit_sandbox when
# examples/sandbox defines it): each test is named after its executable.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMINIVMM_SANITIZE=ON >/dev/null ||
  { echo "test: sanitizer configure failed" >&2; exit 1; }
mapfile -t asan_targets < <(ctest --test-dir build-asan -L unit -N 2>/dev/null |
  sed -nE 's/^ *Test +#[0-9]+: +([^ ]+).*/\1/p')
if [ ${#asan_targets[@]} -eq 0 ] ||
  ! cmake --build build-asan -j"$(nproc)" --target "${asan_targets[@]}"; then
  echo "test: sanitizer build failed" >&2
  exit 1
fi

suite "unit tests" ctest --test-dir build -L unit --output-on-failure
suite "unit tests (ASan+UBSan)" ctest --test-dir build-asan -L unit --output-on-failure
suite "package (install, find_package and pkg-config consumers)" \
  ctest --test-dir build -L package --output-on-failure
if [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
  suite "KVM tests (tiny guests, host /dev/kvm)" ctest --test-dir build -L kvm --output-on-failure
else
  step "KVM tests skipped: no usable /dev/kvm on this machine"
fi
suite "fuzz targets (libFuzzer+ASan+UBSan, 20 s each)" bash tests/fuzz/run.sh 20 build-fuzz
step "building the guest kernel (cached; first build takes several minutes)"
if kernel_dir=$(guest-kernel-config/build.sh | tail -n 1); then
  suite "end-to-end tests (nested KVM harness)" \
    python3 tests/e2e/e2e_test.py --minivmm build/minivmm --kernel-dir "$kernel_dir"
else
  failed=$((failed + 1))
  failures+=("guest kernel build")
fi

step "done in $((SECONDS - t0))s"
[ ${#failures[@]} -eq 0 ] || echo "test: failed suites: ${failures[*]}" >&2
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
