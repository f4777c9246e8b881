// The report of `minivmm run --boot-timing[=text|json]`: the start phases (with the CLI's own
// "config_parsed" in front), the guest's boot-timer markers, and the process's CPU time and peak
// RSS, as text lines for people or as one JSON object for `minivmm bench` and bench/ scripts. It
// also parses that JSON back (the bench side). It does not take the timestamps itself.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <minivmm/machine.hpp>

namespace minivmm::cli {

/// One `run`'s timing as reported: phases (config_parsed first) and markers, in milliseconds.
struct RunTiming {
  struct Point {
    std::string name;               ///< a phase name, or "marker 0xNN" for a boot-timer write
    std::optional<uint8_t> marker;  ///< the value, for a boot-timer write
    double since_exec_ms = 0;
    std::optional<double> since_create_ms;  ///< none for steps before Machine::create
  };
  std::string exec_reference;
  std::vector<Point> points;  ///< phases in order, then markers in order
  double cpu_ms = 0;          ///< user + system CPU time of the whole process
  uint64_t peak_rss_kib = 0;  ///< getrusage ru_maxrss
  std::string exit;           ///< how the run ended, e.g. "marker 0x41", "guest reset"
};

/// "marker 0x41".
std::string marker_name(uint8_t value);

/// Builds the report from the machine's timing; `config_parsed` is the CLI's own step, given as
/// nanoseconds since exec (it happens before create, so it has no since_create).
RunTiming make_run_timing(const BootTiming& timing, std::chrono::nanoseconds config_parsed,
                          double cpu_ms, uint64_t peak_rss_kib, std::string exit);

/// Text lines (no trailing newline each): a header naming the exec reference, then one line per
/// point: "  kvm_opened          1.234 ms  (+0.120)  create+0.400".
std::vector<std::string> format_text(const RunTiming& t);

/// One line of JSON starting with {"exec_reference" (the bench side looks for that prefix).
std::string format_json(const RunTiming& t);

/// Parses format_json's output. Errors (invalid_config) name what is missing or malformed.
Result<RunTiming> parse_json(std::string_view line);

/// The prefix every format_json line starts with.
inline constexpr std::string_view kJsonPrefix = "{\"exec_reference\"";

}  // namespace minivmm::cli
