// Implementation of `minivmm bench`: option registration, the child loop (spawn with the spawn
// time in the environment, read the child's output with a deadline, reap), and the report.
#include "vmm/cli/bench_command.hpp"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "vmm/cli/bench_report.hpp"
#include "vmm/cli/exit_codes.hpp"
#include "vmm/sys/child_process.hpp"
#include "vmm/sys/process_start.hpp"

namespace minivmm::cli {
namespace {

using Clock = std::chrono::steady_clock;

std::string self_exe() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "/proc/self/exe";
  return std::string(buf, static_cast<size_t>(n));
}

std::string last_line(const std::string& text) {
  const size_t end = text.find_last_not_of('\n');
  if (end == std::string::npos) return "(no output)";
  const size_t newline = text.rfind('\n', end);
  const size_t start = newline == std::string::npos ? 0 : newline + 1;
  return text.substr(start, end + 1 - start);
}

// Reads everything the child writes until EOF or the deadline; false on timeout.
bool read_until_eof(int fd, std::string& out, Clock::time_point deadline) {
  char buf[4096];
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    int rc = ::poll(&p, 1, static_cast<int>(left.count()));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) return false;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;
    out.append(buf, static_cast<size_t>(n));
  }
}

// One child run. Errors carry the child's last output line.
Result<BenchRun> run_once(const std::vector<std::string>& argv, unsigned timeout_s) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return errno_error("bench: pipe");
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  ChildOptions co;
  co.argv = argv;
  co.output_fd = write_end.get();
  co.parent_death_signal = SIGKILL;
  const auto t0 = Clock::now();
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  const uint64_t spawn_ns =
      static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
  ::setenv(kSpawnTimeEnv, std::to_string(spawn_ns).c_str(), 1);
  auto child = ChildProcess::spawn(co);
  ::unsetenv(kSpawnTimeEnv);
  if (!child) return tl::unexpected(with_context(child.error(), "bench: start minivmm run"));
  write_end.reset();
  std::string output;
  const auto deadline = t0 + std::chrono::seconds(timeout_s);
  const bool eof = read_until_eof(read_end.get(), output, deadline);
  if (!eof || !child->wait_for_exit(std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::max(deadline - Clock::now(), Clock::duration::zero())))) {
    child->kill();
    return make_error(ErrorCode::timeout, "minivmm run timed out after {} s; last output: {}",
                      timeout_s, last_line(output));
  }
  const double wall_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  const int status = child->exit_status().value_or(-1);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != kExitGuestDone) {
    const std::string how = WIFEXITED(status) ? fmt::format("exit code {}", WEXITSTATUS(status))
                            : WIFSIGNALED(status)
                                ? fmt::format("killed by signal {}", WTERMSIG(status))
                                : fmt::format("wait status {:#x}", status);
    return make_error(ErrorCode::invalid_state, "minivmm run failed ({}): {}", how,
                      last_line(output));
  }
  size_t pos = output.rfind(kJsonPrefix);
  if (pos == std::string::npos)
    return make_error(ErrorCode::invalid_state,
                      "no boot-timing report from minivmm run; last output: {}", last_line(output));
  const size_t end = output.find('\n', pos);
  const size_t len = end == std::string::npos ? std::string::npos : end - pos;
  MINIVMM_TRY(timing, parse_json(std::string_view(output).substr(pos, len)));
  return BenchRun{std::move(timing), wall_ms};
}

}  // namespace

void add_bench_options(CLI::App& app, BenchOptions& o) {
  app.add_option("--kernel", o.kernel, "vmlinux or bzImage")->required();
  auto* initrd = app.add_option("--initrd", o.initrd, "initramfs whose init writes the marker");
  auto* rootfs =
      app.add_option("--rootfs", o.rootfs, "raw root image whose init writes the marker");
  initrd->excludes(rootfs);
  app.add_option("--cmdline", o.cmdline, "kernel command line")->capture_default_str();
  app.add_option("--vcpus", o.vcpus, "vCPUs")->capture_default_str();
  app.add_option("--memory", o.memory_mib, "guest memory in MiB")->capture_default_str();
  app.add_option("--runs", o.runs, "number of boots")
      ->capture_default_str()
      ->check(CLI::Range(1u, 100000u));
  app.add_option("--marker", o.marker, "boot-timer value that ends each run (guest init: 0x41)")
      ->capture_default_str();
  app.add_option("--timeout", o.timeout_s, "seconds per run")
      ->capture_default_str()
      ->check(CLI::Range(1u, 86400u));
  app.add_flag("--json", o.json, "print one JSON object instead of the table");
  app.add_option("extra", o.extra, "more `minivmm run` options, after --");
}

Result<uint8_t> parse_marker(const std::string& text, const char* option) {
  unsigned value = 0;
  const bool hex = text.rfind("0x", 0) == 0 || text.rfind("0X", 0) == 0;
  const char* begin = text.data() + (hex ? 2 : 0);
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, value, hex ? 16 : 10);
  if (begin == end || ec != std::errc() || ptr != end || value > 255)
    return make_error(ErrorCode::invalid_config, "{}: '{}' is not a value 0..255 (e.g. 0x41)",
                      option, text);
  return static_cast<uint8_t>(value);
}

std::vector<std::string> bench_child_argv(const BenchOptions& o, const std::string& exe) {
  std::vector<std::string> a{exe,
                             "run",
                             "--kernel",
                             o.kernel,
                             "--cmdline",
                             o.cmdline,
                             "--vcpus",
                             std::to_string(o.vcpus),
                             "--memory",
                             std::to_string(o.memory_mib),
                             "--console",
                             "none",
                             "--boot-timing=json",
                             "--exit-on-marker",
                             o.marker,
                             "--log-level",
                             "warn"};
  if (!o.initrd.empty()) a.insert(a.end(), {"--initrd", o.initrd});
  if (!o.rootfs.empty()) a.insert(a.end(), {"--rootfs", o.rootfs});
  a.insert(a.end(), o.extra.begin(), o.extra.end());
  return a;
}

int run_bench(const BenchOptions& o) {
  if (auto m = parse_marker(o.marker, "--marker"); !m) {
    std::fprintf(stderr, "minivmm: %s\n", m.error().message().c_str());
    return kExitUsage;
  }
  const std::vector<std::string> argv = bench_child_argv(o, self_exe());
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  std::vector<BenchRun> runs;
  for (unsigned i = 0; i < o.runs; ++i) {
    auto run = run_once(argv, o.timeout_s);
    if (!run) {
      std::fprintf(stderr, "%sminivmm: run %u/%u: %s\n", tty ? "\n" : "", i + 1, o.runs,
                   run.error().message().c_str());
      return kExitHostFailure;
    }
    runs.push_back(std::move(*run));
    // Progress: one line per run, or an updating line on a terminal.
    std::fprintf(stderr, "%sminivmm bench: run %u/%u: %.3f ms%s", tty ? "\r" : "", i + 1, o.runs,
                 runs.back().wall_ms, tty ? "" : "\n");
  }
  if (tty) std::fprintf(stderr, "\n");
  const auto rows = summarize_runs(runs);
  if (o.json) {
    std::printf("%s\n", format_bench_json(rows, runs, argv).c_str());
  } else {
    for (const auto& line : format_bench_text(rows, runs.size(), argv))
      std::printf("%s\n", line.c_str());
  }
  return 0;
}

}  // namespace minivmm::cli
