// Summaries and tables of `minivmm bench`.
#include "vmm/cli/bench_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

namespace minivmm::cli {
namespace {

double percentile(const std::vector<double>& sorted, double q) {
  const double rank = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(rank));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  const double frac = rank - static_cast<double>(lo);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

}  // namespace

Summary summarize(std::vector<double> values) {
  Summary s;
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  s.n = values.size();
  s.min = values.front();
  s.max = values.back();
  s.median = percentile(values, 0.5);
  s.p90 = percentile(values, 0.9);
  return s;
}

std::vector<BenchRow> summarize_runs(const std::vector<BenchRun>& runs) {
  std::vector<std::string> order;
  for (const auto& run : runs)
    for (const auto& p : run.timing.points)
      if (std::find(order.begin(), order.end(), p.name) == order.end()) order.push_back(p.name);
  std::vector<BenchRow> rows;
  for (const auto& name : order) {
    std::vector<double> v;
    for (const auto& run : runs)
      for (const auto& p : run.timing.points)
        if (p.name == name) {
          v.push_back(p.since_exec_ms);
          break;  // a marker written twice counts once per run: its first write
        }
    rows.push_back({name, summarize(std::move(v))});
  }
  std::vector<double> wall, cpu, rss;
  for (const auto& run : runs) {
    wall.push_back(run.wall_ms);
    cpu.push_back(run.timing.cpu_ms);
    rss.push_back(static_cast<double>(run.timing.peak_rss_kib));
  }
  rows.push_back({kWallRow, summarize(std::move(wall))});
  rows.push_back({kCpuRow, summarize(std::move(cpu))});
  rows.push_back({kRssRow, summarize(std::move(rss))});
  return rows;
}

std::vector<std::string> format_bench_text(const std::vector<BenchRow>& rows, size_t runs,
                                           const std::vector<std::string>& child_argv) {
  std::vector<std::string> out;
  out.push_back(fmt::format("minivmm bench: {} runs of: {}", runs, fmt::join(child_argv, " ")));
  out.push_back(fmt::format("{:<22} {:>10} {:>10} {:>10} {:>10} {:>5}", "ms since exec", "min",
                            "median", "p90", "max", "runs"));
  for (const auto& r : rows) {
    const bool kib = r.name == kRssRow;
    std::string name = kib ? std::string(kRssRow) + " (KiB)" : r.name;
    if (r.name == kCpuRow) name += " (ms)";
    out.push_back(fmt::format("{:<22} {:>10.3f} {:>10.3f} {:>10.3f} {:>10.3f} {:>5}", name,
                              r.ms.min, r.ms.median, r.ms.p90, r.ms.max, r.ms.n));
  }
  return out;
}

std::string format_bench_json(const std::vector<BenchRow>& rows, const std::vector<BenchRun>& runs,
                              const std::vector<std::string>& child_argv) {
  nlohmann::ordered_json j;
  j["runs"] = runs.size();
  j["command"] = child_argv;
  j["exec_reference"] = runs.empty() ? "" : runs.front().timing.exec_reference;
  j["rows"] = nlohmann::ordered_json::array();
  for (const auto& r : rows)
    j["rows"].push_back({{"name", r.name},
                         {"n", r.ms.n},
                         {"min", r.ms.min},
                         {"median", r.ms.median},
                         {"p90", r.ms.p90},
                         {"max", r.ms.max}});
  j["samples"] = nlohmann::ordered_json::array();
  for (const auto& run : runs) {
    auto sample = nlohmann::ordered_json::parse(format_json(run.timing));
    sample["wall_ms"] = run.wall_ms;
    j["samples"].push_back(std::move(sample));
  }
  return j.dump();
}

}  // namespace minivmm::cli
