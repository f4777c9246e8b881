// Unit tests of the --boot-timing report: config_parsed leads and has no since_create, markers
// follow the phases, JSON round-trips through parse_json, malformed JSON is refused with a
// message, and the text form shows each step with its delta.
#include "vmm/cli/boot_timing_report.hpp"

#include <doctest/doctest.h>

namespace minivmm::cli {
namespace {

using std::chrono::microseconds;

BootTiming sample() {
  BootTiming t;
  t.exec_reference = "spawner";
  t.phases = {{"kvm_opened", microseconds(1500), microseconds(300)},
              {"first_kvm_run", microseconds(2500), microseconds(1300)}};
  t.markers = {{0x41, microseconds(90000), microseconds(88800)}};
  return t;
}

TEST_CASE("run timing: config_parsed first, then phases, then markers") {
  RunTiming r = make_run_timing(sample(), microseconds(1000), 12.5, 4096, "marker 0x41");
  REQUIRE(r.points.size() == 4);
  CHECK(r.points[0].name == "config_parsed");
  CHECK_FALSE(r.points[0].since_create_ms);
  CHECK(r.points[0].since_exec_ms == doctest::Approx(1.0));
  CHECK(r.points[1].name == "kvm_opened");
  CHECK(*r.points[1].since_create_ms == doctest::Approx(0.3));
  CHECK(r.points[3].name == "marker 0x41");
  CHECK(r.points[3].marker == 0x41);
  CHECK(r.points[3].since_exec_ms == doctest::Approx(90.0));
}

TEST_CASE("run timing: JSON starts with the documented prefix and round-trips") {
  RunTiming r = make_run_timing(sample(), microseconds(1000), 12.5, 4096, "marker 0x41");
  std::string line = format_json(r);
  CHECK(line.rfind(kJsonPrefix, 0) == 0);
  CHECK(line.find('\n') == std::string::npos);
  auto back = parse_json(line);
  REQUIRE(back);
  CHECK(back->exec_reference == "spawner");
  CHECK(back->exit == "marker 0x41");
  CHECK(back->cpu_ms == doctest::Approx(12.5));
  CHECK(back->peak_rss_kib == 4096);
  REQUIRE(back->points.size() == r.points.size());
  for (size_t i = 0; i < r.points.size(); ++i) {
    CHECK(back->points[i].name == r.points[i].name);
    CHECK(back->points[i].marker == r.points[i].marker);
    CHECK(back->points[i].since_exec_ms == doctest::Approx(r.points[i].since_exec_ms));
    CHECK(back->points[i].since_create_ms.has_value() == r.points[i].since_create_ms.has_value());
  }
}

TEST_CASE("run timing: malformed reports are refused with a message") {
  for (
      const char* bad :
      {"", "not json", "[]", R"({"exec_reference":"x"})",
       R"({"exec_reference":"x","phases":[],"markers":[{"value":300,"since_exec_ms":1,"since_create_ms":1}],"cpu_ms":1,"peak_rss_kib":1,"exit":""})",
       R"({"exec_reference":"x","phases":[{"name":"a"}],"markers":[],"cpu_ms":1,"peak_rss_kib":1,"exit":""})",
       R"({"exec_reference":1,"phases":[],"markers":[],"cpu_ms":1,"peak_rss_kib":1,"exit":""})"}) {
    auto r = parse_json(bad);
    CHECK_FALSE(r);
    if (!r) CHECK(r.error().message().find("boot timing") != std::string::npos);
  }
}

TEST_CASE("run timing: text names the exec reference and shows deltas") {
  BootTiming t = sample();
  t.exec_reference = "proc_stat";
  auto lines = format_text(make_run_timing(t, microseconds(1000), 1, 2, "guest reset"));
  REQUIRE(lines.size() == 6);
  CHECK(lines[0].find("proc_stat") != std::string::npos);
  CHECK(lines[0].find("10 ms") != std::string::npos);
  CHECK(lines[2].find("kvm_opened") != std::string::npos);
  CHECK(lines[2].find("(+0.500)") != std::string::npos);
  CHECK(lines[2].find("create+0.300") != std::string::npos);
  CHECK(lines[4].find("marker 0x41") != std::string::npos);
  CHECK(lines[5].find("guest reset") != std::string::npos);
}

}  // namespace
}  // namespace minivmm::cli
