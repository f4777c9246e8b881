// The numbers of `minivmm bench`: per-step summaries (min / median / p90 / max over runs) of the
// --boot-timing reports of N child runs plus their wall time, and the table or JSON that shows
// them. Pure computation and formatting, so it is unit-tested without KVM; running the children
// is bench_command.cpp's job.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "vmm/cli/boot_timing_report.hpp"

namespace minivmm::cli {

/// Order statistics of one quantity over runs. Percentiles interpolate linearly between the
/// closest ranks (the median of 1, 2, 3, 4 is 2.5).
struct Summary {
  size_t n = 0;
  double min = 0, median = 0, p90 = 0, max = 0;
};

/// Summary of `values` (n = 0 and zeros when empty).
Summary summarize(std::vector<double> values);

/// One child run as the bench saw it.
struct BenchRun {
  RunTiming timing;
  double wall_ms = 0;  ///< spawn to exit, measured by the bench process
};

/// A summarized row: a phase or marker name (since-exec milliseconds), or one of the totals.
struct BenchRow {
  std::string name;
  Summary ms;  ///< for "peak RSS" the unit is KiB
};

/// Rows in first-seen order of the phases and markers, then "wall (spawn to exit)", "cpu time"
/// and "peak RSS". A step missing from some runs is summarized over the runs that have it.
std::vector<BenchRow> summarize_runs(const std::vector<BenchRun>& runs);

/// A fixed-width table with a header line naming the run count and the child command.
std::vector<std::string> format_bench_text(const std::vector<BenchRow>& rows, size_t runs,
                                           const std::vector<std::string>& child_argv);

/// {"runs":N,"command":[...],"exec_reference":..,"rows":[{"name":..,"n":..,"min":..,"median":..,
/// "p90":..,"max":..},...],"samples":[<each run's boot-timing object plus "wall_ms">]}.
std::string format_bench_json(const std::vector<BenchRow>& rows, const std::vector<BenchRun>& runs,
                              const std::vector<std::string>& child_argv);

inline constexpr const char* kWallRow = "wall (spawn to exit)";
inline constexpr const char* kCpuRow = "cpu time";
inline constexpr const char* kRssRow = "peak RSS";

}  // namespace minivmm::cli
