// Formatting and parsing of the --boot-timing report. JSON goes through nlohmann-json; keys are
// fixed ("exec_reference", "phases", "markers", "cpu_ms", "peak_rss_kib", "exit") and documented
// in README.md ("Boot timing").
#include "vmm/cli/boot_timing_report.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "vmm/sys/error.hpp"

namespace minivmm::cli {
namespace {

double to_ms(std::chrono::nanoseconds ns) {
  return static_cast<double>(ns.count()) / 1e6;
}

}  // namespace

std::string marker_name(uint8_t value) {
  return fmt::format("marker {:#04x}", value);
}

RunTiming make_run_timing(const BootTiming& timing, std::chrono::nanoseconds config_parsed,
                          double cpu_ms, uint64_t peak_rss_kib, std::string exit) {
  RunTiming r;
  r.exec_reference = timing.exec_reference;
  r.points.push_back({"config_parsed", std::nullopt, to_ms(config_parsed), std::nullopt});
  for (const auto& p : timing.phases)
    r.points.push_back({p.name, std::nullopt, to_ms(p.since_exec), to_ms(p.since_create)});
  for (const auto& m : timing.markers)
    r.points.push_back({marker_name(m.value), m.value, to_ms(m.since_exec), to_ms(m.since_create)});
  r.cpu_ms = cpu_ms;
  r.peak_rss_kib = peak_rss_kib;
  r.exit = std::move(exit);
  return r;
}

std::vector<std::string> format_text(const RunTiming& t) {
  std::vector<std::string> lines;
  const char* note = t.exec_reference == "proc_stat"
                         ? " (/proc start time: clock-tick resolution, usually 10 ms)"
                         : "";
  lines.push_back(fmt::format("boot timing, ms since exec [{}]{}:", t.exec_reference, note));
  double previous = 0;
  for (const auto& p : t.points) {
    std::string create =
        p.since_create_ms ? fmt::format("  create+{:.3f}", *p.since_create_ms) : std::string();
    lines.push_back(fmt::format("  {:<16} {:>10.3f} ms  (+{:.3f}){}", p.name, p.since_exec_ms,
                                p.since_exec_ms - previous, create));
    previous = p.since_exec_ms;
  }
  lines.push_back(fmt::format("  cpu time {:.3f} ms, peak RSS {} KiB, ended: {}", t.cpu_ms,
                              t.peak_rss_kib, t.exit));
  return lines;
}

std::string format_json(const RunTiming& t) {
  nlohmann::ordered_json j;
  j["exec_reference"] = t.exec_reference;
  j["phases"] = nlohmann::ordered_json::array();
  j["markers"] = nlohmann::ordered_json::array();
  for (const auto& p : t.points) {
    nlohmann::ordered_json e;
    if (p.marker)
      e["value"] = *p.marker;
    else
      e["name"] = p.name;
    e["since_exec_ms"] = p.since_exec_ms;
    e["since_create_ms"] = p.since_create_ms ? nlohmann::ordered_json(*p.since_create_ms) : nullptr;
    j[p.marker ? "markers" : "phases"].push_back(std::move(e));
  }
  j["cpu_ms"] = t.cpu_ms;
  j["peak_rss_kib"] = t.peak_rss_kib;
  j["exit"] = t.exit;
  return j.dump();
}

Result<RunTiming> parse_json(std::string_view line) {
  nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return make_error(ErrorCode::invalid_config, "boot timing: not a JSON object");
  RunTiming r;
  try {
    r.exec_reference = j.at("exec_reference").get<std::string>();
    auto point = [](const nlohmann::json& e, std::string name) {
      RunTiming::Point p{std::move(name), std::nullopt, e.at("since_exec_ms").get<double>(),
                         std::nullopt};
      if (!e.at("since_create_ms").is_null())
        p.since_create_ms = e.at("since_create_ms").get<double>();
      return p;
    };
    for (const auto& e : j.at("phases")) r.points.push_back(point(e, e.at("name")));
    for (const auto& e : j.at("markers")) {
      const int value = e.at("value").get<int>();
      if (value < 0 || value > 255)
        return make_error(ErrorCode::invalid_config, "boot timing: marker value {}", value);
      r.points.push_back(point(e, marker_name(static_cast<uint8_t>(value))));
      r.points.back().marker = static_cast<uint8_t>(value);
    }
    r.cpu_ms = j.at("cpu_ms").get<double>();
    r.peak_rss_kib = j.at("peak_rss_kib").get<uint64_t>();
    r.exit = j.at("exit").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    return make_error(ErrorCode::invalid_config, "boot timing: {}", e.what());
  }
  return r;
}

}  // namespace minivmm::cli
