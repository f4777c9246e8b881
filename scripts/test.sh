#!/usr/bin/env bash
# The one command that runs every minivmm test (README "Run all tests"; .ci/run calls it).
# Steps, each with a progress line: install dependencies, build, unit tests (plain and under
# ASan+UBSan), KVM tests with tiny guests on the host's /dev/kvm, a short libFuzzer run of every
# fuzz target (clang), the guest kernel build (cached outside the checkout), and the end-to-end
# tests with real Linux in the nested KVM harness.
# Ends with one line "N passed, M failed" counting the suites; exits non-zero if any failed.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
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
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMINIVMM_SANITIZE=ON >/dev/null &&
  cmake --build build-asan -j"$(nproc)" --target unit_boot unit_devices unit_net unit_vsock unit_fs unit_vmm ||
  { echo "test: sanitizer build failed" >&2; exit 1; }

suite "unit tests" ctest --test-dir build -L unit --output-on-failure
suite "unit tests (ASan+UBSan)" ctest --test-dir build-asan -L unit --output-on-failure
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
