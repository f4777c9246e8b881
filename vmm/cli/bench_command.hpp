// `minivmm bench`: boots the same kernel N times, each in a fresh `minivmm run` child process
// that stops at a boot-timer marker (the guest's init writes 0x41 by convention), and prints
// min / median / p90 / max of every start phase, the wall time seen from outside, CPU time and
// peak RSS. Children rather than in-process machines, because exec, dynamic loading and process
// teardown are part of what a user's start costs, and CPU time and peak RSS are per process.
// Each child gets MINIVMM_SPAWN_TIME_NS, so its "since exec" times are exact.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include <minivmm/error.hpp>

namespace minivmm::cli {

struct BenchOptions {
  std::string kernel;
  std::string initrd;
  std::string rootfs;  ///< a raw image booted as the first disk (--rootfs of `run`)
  std::string cmdline = "console=ttyS0 reboot=k panic=-1 quiet";
  uint32_t vcpus = 1;
  uint64_t memory_mib = 128;
  unsigned runs = 10;
  std::string marker = "0x41";  ///< boot-timer value that ends a run
  unsigned timeout_s = 120;     ///< per run
  bool json = false;
  std::vector<std::string> extra;  ///< more `minivmm run` arguments, after --
};

void add_bench_options(CLI::App& app, BenchOptions& opts);

/// Parses a marker value: decimal or 0x-hex, 0..255. Errors name --marker.
Result<uint8_t> parse_marker(const std::string& text, const char* option);

/// The `minivmm run` argv of one child (argv[0] = `exe`).
std::vector<std::string> bench_child_argv(const BenchOptions& o, const std::string& exe);

/// Runs the benchmark; returns the process exit code (0, or 4 when a run failed).
int run_bench(const BenchOptions& opts);

}  // namespace minivmm::cli
