// minivmm-creation-rate: how many VMs per second one process creates, runs to their first exits and
// destroys through the public C++ API (include/minivmm/machine.hpp). Each iteration is
// Machine::create (console none, 1 vCPU, --memory MiB), start(), wait() and destruction, with a
// tiny guest that writes the boot-timer port and resets through the i8042 (built in, the PVH
// variant of bench/make_tiny_guest.cpp's `--then reset`; or --kernel ELF). --threads T runs T such
// loops at once (--count VMs in all). Prints one `key=value` line: VMs/s over the whole wall time
// and per-VM median / p90 latency (ms) of create, start -> exit (start + wait) and destroy.
// Stops and exits 1 when a VM fails to create or start, or stops for another reason than a guest
// reset.
//
//   minivmm-creation-rate [--count N] [--threads T] [--memory MIB] [--kernel ELF]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>
#include <minivmm/machine.hpp>

#include "tests/support/tiny_guest.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  auto i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

struct Samples {
  std::vector<double> create, run, destroy;
};

int usage() {
  std::fprintf(stderr,
               "usage: minivmm-creation-rate [--count N] [--threads T] [--memory MIB] "
               "[--kernel ELF]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  long count = 1000, threads = 1, memory = 64;
  std::string kernel;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    if (a == "--count") {
      count = std::strtol(argv[++i], nullptr, 10);
    } else if (a == "--threads") {
      threads = std::strtol(argv[++i], nullptr, 10);
    } else if (a == "--memory") {
      memory = std::strtol(argv[++i], nullptr, 10);
    } else if (a == "--kernel") {
      kernel = argv[++i];
    } else {
      return usage();
    }
  }
  if (count < 1 || threads < 1 || threads > count || memory < 2) return usage();
  spdlog::set_level(spdlog::level::warn);

  std::unique_ptr<minivmm::test::TempFile> builtin;
  if (kernel.empty()) {
    minivmm::test::TinyGuestCode g;
    g.mov(g.dx, 0x440);
    g.mov(g.al, 0x41);
    g.out_(g.dx, g.al);
    g.mov(g.al, 0xfe);
    g.out_(0x64, g.al);
    g.L("halt");
    g.hlt();
    g.jmp("halt");
    g.ready();
    builtin = std::make_unique<minivmm::test::TempFile>(g.pvh_elf());
    kernel = builtin->path();
  }
  minivmm::MachineConfig config;
  config.kernel_path = kernel;
  config.cmdline = "";
  config.memory_mib = static_cast<uint64_t>(memory);
  config.vcpus = 1;
  config.console.output = minivmm::ConsoleConfig::Output::none;

  std::atomic<long> next{0};
  std::atomic<long> failures{0};
  std::mutex mu;
  Samples all;
  std::string first_error;
  auto worker = [&] {
    Samples mine;
    while (next.fetch_add(1) < count) {
      auto t0 = Clock::now();
      auto m = minivmm::Machine::create(config);
      mine.create.push_back(ms_since(t0));
      std::string err;
      if (!m) {
        err = "create: " + m.error().message();
      } else {
        auto t1 = Clock::now();
        if (auto s = (*m)->start(); !s) {
          err = "start: " + s.error().message();
        } else {
          auto status = (*m)->wait();
          mine.run.push_back(ms_since(t1));
          if (!status)
            err = "wait: " + status.error().message();
          else if (status->reason != minivmm::ExitReason::guest_reset)
            err = std::string("stopped: ") + minivmm::to_string(status->reason) + " " +
                  status->detail;
        }
        auto t2 = Clock::now();
        m->reset();
        mine.destroy.push_back(ms_since(t2));
      }
      if (!err.empty()) {
        failures.fetch_add(1);
        next.store(count);  // stop at the first failure
        std::lock_guard lock(mu);
        if (first_error.empty()) first_error = err;
      }
    }
    std::lock_guard lock(mu);
    for (auto [dst, src] : {std::pair{&all.create, &mine.create},
                            {&all.run, &mine.run},
                            {&all.destroy, &mine.destroy}})
      dst->insert(dst->end(), src->begin(), src->end());
  };

  auto start = Clock::now();
  std::vector<std::thread> pool;
  for (long i = 0; i < threads; ++i) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  double wall = ms_since(start);
  const auto done = static_cast<long>(all.create.size());  // fewer than count after a failure

  std::printf(
      "vms=%ld threads=%ld memory_mib=%ld failures=%ld wall_ms=%.3f vms_per_s=%.1f "
      "create_p50_ms=%.3f create_p90_ms=%.3f run_p50_ms=%.3f run_p90_ms=%.3f "
      "destroy_p50_ms=%.3f destroy_p90_ms=%.3f\n",
      done, threads, memory, failures.load(), wall,
      static_cast<double>(done - failures.load()) * 1000.0 / wall, percentile(all.create, 0.5),
      percentile(all.create, 0.9), percentile(all.run, 0.5), percentile(all.run, 0.9),
      percentile(all.destroy, 0.5), percentile(all.destroy, 0.9));
  if (failures.load() > 0) {
    std::fprintf(stderr, "minivmm-creation-rate: %ld of %ld VMs failed; first: %s\n",
                 failures.load(), count, first_error.c_str());
    return 1;
  }
  return 0;
}
