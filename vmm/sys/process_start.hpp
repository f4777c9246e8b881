// Process start time: when this process was exec'd, expressed on std::chrono::steady_clock so it
// can serve as the "since exec" reference of the boot timer and the start phases. Two sources: a
// spawner that wants sub-millisecond numbers (a benchmark, `minivmm bench`) passes the
// CLOCK_MONOTONIC time it read just before fork/exec in MINIVMM_SPAWN_TIME_NS; otherwise
// /proc/self/stat's starttime is used, whose resolution is one clock tick (usually 10 ms), the
// unit the kernel reports. The environment value is checked against /proc so an inherited, stale
// value (a spawner's grandchild) cannot shift the reference.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace minivmm {

/// Where a ProcessStart came from.
enum class ProcessStartSource {
  spawner,       ///< MINIVMM_SPAWN_TIME_NS, the spawner's CLOCK_MONOTONIC before exec
  proc_stat,     ///< /proc/self/stat starttime, converted onto the steady clock
  fallback_now,  ///< /proc was unreadable or malformed: the time of the first call instead
};

struct ProcessStart {
  std::chrono::steady_clock::time_point time;
  ProcessStartSource source;
};

/// The process start time, computed once (thread-safe) and then returned unchanged. Never fails:
/// see ProcessStartSource::fallback_now.
ProcessStart process_start();

/// "spawner", "proc_stat" or "fallback_now".
const char* to_string(ProcessStartSource source) noexcept;

/// The environment variable a spawner sets to CLOCK_MONOTONIC nanoseconds read before exec.
inline constexpr const char* kSpawnTimeEnv = "MINIVMM_SPAWN_TIME_NS";

/// Decides whether a MINIVMM_SPAWN_TIME_NS value is usable: a plain decimal number of nanoseconds
/// that is not after `now` and not more than `slack` before the tick-rounded /proc start time
/// (`proc_start`, or nullopt when /proc was unreadable: then only "not after now" is checked).
/// Returns the time point, or nullopt for a malformed or implausible value.
std::optional<std::chrono::steady_clock::time_point> accept_spawn_time(
    std::string_view value, std::chrono::steady_clock::time_point now,
    std::optional<std::chrono::steady_clock::time_point> proc_start,
    std::chrono::nanoseconds slack);

/// process_start().time.
std::chrono::steady_clock::time_point process_start_time();

/// Field 22 (starttime, clock ticks after boot) of a /proc/<pid>/stat line, or nullopt when the
/// line is malformed. The command name (field 2) may contain spaces and parentheses.
std::optional<uint64_t> parse_stat_starttime(std::string_view stat_line);

}  // namespace minivmm
