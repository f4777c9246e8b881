// Process start time from the spawner's MINIVMM_SPAWN_TIME_NS (checked), else /proc/self/stat.
// The kernel records starttime from the task's start_boottime, i.e. on CLOCK_BOOTTIME, which keeps
// counting while the host is suspended; steady_clock is CLOCK_MONOTONIC, which does not. Comparing
// starttime with CLOCK_MONOTONIC directly would be off by every suspend since host boot, so the
// process's age is measured on CLOCK_BOOTTIME (now minus starttime, both on that clock) and then
// subtracted from steady_clock::now(). Only a suspend during this process's lifetime remains, and
// it makes since_exec include the suspended time, which is the honest answer for "time since exec".
#include "vmm/sys/process_start.hpp"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace minivmm {

namespace {

constexpr int kStarttimeField = 22;
// Fields after the ")" that closes the command name start at field 3.
constexpr int kFirstFieldAfterComm = 3;

std::optional<std::chrono::nanoseconds> boottime_now() {
  timespec ts{};
  if (clock_gettime(CLOCK_BOOTTIME, &ts) != 0) return std::nullopt;
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

std::optional<std::chrono::steady_clock::time_point> read_from_proc() {
  std::ifstream file("/proc/self/stat");
  std::stringstream contents;
  contents << file.rdbuf();
  if (!file) return std::nullopt;
  const std::optional<uint64_t> ticks = parse_stat_starttime(contents.str());
  const long ticks_per_second = sysconf(_SC_CLK_TCK);
  if (!ticks || ticks_per_second <= 0) return std::nullopt;
  const auto steady_now = std::chrono::steady_clock::now();
  const std::optional<std::chrono::nanoseconds> boot_now = boottime_now();
  if (!boot_now) return std::nullopt;
  const auto tps = static_cast<uint64_t>(ticks_per_second);
  const std::chrono::nanoseconds started_after_boot =
      std::chrono::seconds(*ticks / tps) +
      std::chrono::nanoseconds((*ticks % tps) * 1'000'000'000 / tps);
  // A tick-rounded start can land a little after "now"; clamp the age at zero.
  const std::chrono::nanoseconds age =
      std::max(std::chrono::nanoseconds(0), *boot_now - started_after_boot);
  return steady_now - age;
}

// How far before the tick-rounded /proc start a spawner's clock reading may lie: the time between
// its clock read and the fork, on a loaded host. (The rounding makes /proc earlier, not later.)
constexpr std::chrono::milliseconds kSpawnSlack{250};

ProcessStart compute_process_start() {
  const auto now = std::chrono::steady_clock::now();
  const std::optional<std::chrono::steady_clock::time_point> proc = read_from_proc();
  if (const char* env = std::getenv(kSpawnTimeEnv)) {
    if (auto spawned = accept_spawn_time(env, now, proc, kSpawnSlack))
      return {*spawned, ProcessStartSource::spawner};
  }
  if (proc) return {*proc, ProcessStartSource::proc_stat};
  return {now, ProcessStartSource::fallback_now};
}

}  // namespace

std::optional<uint64_t> parse_stat_starttime(std::string_view stat_line) {
  const size_t comm_end = stat_line.rfind(')');
  if (comm_end == std::string_view::npos) return std::nullopt;
  std::string_view rest = stat_line.substr(comm_end + 1);
  int field = kFirstFieldAfterComm - 1;
  while (!rest.empty()) {
    const size_t start = rest.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    const size_t end = std::min(rest.find(' '), rest.size());
    if (++field == kStarttimeField) {
      const std::string_view token = rest.substr(0, end);
      uint64_t value = 0;
      const auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
      if (ec != std::errc() || ptr != token.data() + token.size()) return std::nullopt;
      return value;
    }
    rest.remove_prefix(end);
  }
  return std::nullopt;
}

const char* to_string(ProcessStartSource source) noexcept {
  switch (source) {
    case ProcessStartSource::spawner:
      return "spawner";
    case ProcessStartSource::proc_stat:
      return "proc_stat";
    case ProcessStartSource::fallback_now:
      return "fallback_now";
  }
  return "unknown";
}

std::optional<std::chrono::steady_clock::time_point> accept_spawn_time(
    std::string_view value, std::chrono::steady_clock::time_point now,
    std::optional<std::chrono::steady_clock::time_point> proc_start,
    std::chrono::nanoseconds slack) {
  uint64_t ns = 0;
  const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), ns);
  if (value.empty() || ec != std::errc() || ptr != value.data() + value.size()) return std::nullopt;
  if (ns > static_cast<uint64_t>(std::chrono::nanoseconds::max().count())) return std::nullopt;
  // steady_clock is CLOCK_MONOTONIC on Linux, the clock the spawner read.
  const std::chrono::steady_clock::time_point t{
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::nanoseconds(static_cast<int64_t>(ns)))};
  if (t > now) return std::nullopt;
  if (proc_start && t < *proc_start - slack) return std::nullopt;
  return t;
}

ProcessStart process_start() {
  static const ProcessStart cached = compute_process_start();
  return cached;
}

std::chrono::steady_clock::time_point process_start_time() {
  return process_start().time;
}

}  // namespace minivmm
