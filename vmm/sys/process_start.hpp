// Process start time: when this process was exec'd, expressed on std::chrono::steady_clock so it
// can serve as the "since exec" reference of the boot timer. It owns reading /proc/self/stat and
// the clock conversion; it does not know about devices (it is host mechanism and may move to
// vmm/sys). Resolution is one clock tick (usually 10 ms), the unit the kernel reports.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace minivmm {

/// Where a ProcessStart came from.
enum class ProcessStartSource {
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

/// process_start().time.
std::chrono::steady_clock::time_point process_start_time();

/// Field 22 (starttime, clock ticks after boot) of a /proc/<pid>/stat line, or nullopt when the
/// line is malformed. The command name (field 2) may contain spaces and parentheses.
std::optional<uint64_t> parse_stat_starttime(std::string_view stat_line);

}  // namespace minivmm
