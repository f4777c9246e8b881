#!/usr/bin/env bash
# Builds the libFuzzer targets in a separate clang build directory and runs each one for N
# seconds (default 30) from its seed corpus; exits non-zero on any crash, leak or sanitizer
# report. Usage: tests/fuzz/run.sh [seconds] [build-dir]
set -euo pipefail

seconds="${1:-30}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${2:-$root/build-fuzz}"
targets=(split_queue_fuzz mmio_transport_fuzz block_request_fuzz vsock_packet_fuzz vsock_handshake_fuzz)

CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DMINIVMM_FUZZ=ON -DMINIVMM_SANITIZE=ON ${MINIVMM_FUZZ_CMAKE_ARGS:-} >/dev/null
cmake --build "$build" --target "${targets[@]}"

status=0
for t in "${targets[@]}"; do
  work="$build/fuzz-work/$t"
  mkdir -p "$work/corpus" "$work/artifacts"
  echo "== $t for ${seconds}s"
  # Seeds stay read-only in the tree; new inputs go to the work corpus.
  if ! "$build/tests/fuzz/$t" "$work/corpus" "$root/tests/fuzz/corpus/$t" \
      -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
      2>"$work/log.txt"; then
    echo "!! $t failed; see $work/log.txt and $work/artifacts/"
    tail -n 40 "$work/log.txt"
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::average_exec_per_sec|cov:" "$work/log.txt" | tail -n 3
  fi
done
exit "$status"
