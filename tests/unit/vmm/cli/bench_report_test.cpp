// Unit tests of `minivmm bench`'s numbers and options: order statistics (interpolated median and
// p90), per-step rows over runs in first-seen order with totals last, steps missing from some
// runs, the JSON summary, marker parsing and the child command line.
#include "vmm/cli/bench_report.hpp"

#include <nlohmann/json.hpp>

#include <doctest/doctest.h>

#include "vmm/cli/bench_command.hpp"

namespace minivmm::cli {
namespace {

TEST_CASE("summarize: min, interpolated median and p90, max") {
  Summary s = summarize({4, 1, 3, 2});
  CHECK(s.n == 4);
  CHECK(s.min == 1);
  CHECK(s.max == 4);
  CHECK(s.median == doctest::Approx(2.5));
  CHECK(s.p90 == doctest::Approx(3.7));
  Summary one = summarize({7});
  CHECK(one.median == 7);
  CHECK(one.p90 == 7);
  CHECK(summarize({}).n == 0);
}

BenchRun run(double kvm, std::optional<double> marker, double wall) {
  BenchRun r;
  r.timing.exec_reference = "spawner";
  r.timing.points.push_back({"kvm_opened", std::nullopt, kvm, 0.1});
  if (marker) r.timing.points.push_back({"marker 0x41", 0x41, *marker, *marker - 1});
  r.timing.cpu_ms = wall / 2;
  r.timing.peak_rss_kib = 5000;
  r.wall_ms = wall;
  return r;
}

TEST_CASE("summarize_runs: steps in first-seen order, then wall, cpu and RSS") {
  auto rows = summarize_runs({run(1, 10, 20), run(3, std::nullopt, 30), run(2, 12, 40)});
  REQUIRE(rows.size() == 5);
  CHECK(rows[0].name == "kvm_opened");
  CHECK(rows[0].ms.n == 3);
  CHECK(rows[0].ms.median == 2);
  CHECK(rows[1].name == "marker 0x41");
  CHECK(rows[1].ms.n == 2);  // one run never wrote it
  CHECK(rows[1].ms.median == doctest::Approx(11));
  CHECK(rows[2].name == kWallRow);
  CHECK(rows[2].ms.max == 40);
  CHECK(rows[3].name == kCpuRow);
  CHECK(rows[3].ms.median == 15);
  CHECK(rows[4].name == kRssRow);
  CHECK(rows[4].ms.min == 5000);
}

TEST_CASE("bench JSON: rows and one sample per run with its wall time") {
  std::vector<BenchRun> runs{run(1, 10, 20), run(2, 12, 40)};
  auto j = nlohmann::json::parse(format_bench_json(summarize_runs(runs), runs, {"minivmm", "run"}));
  CHECK(j["runs"] == 2);
  CHECK(j["exec_reference"] == "spawner");
  CHECK(j["command"][1] == "run");
  CHECK(j["rows"][0]["name"] == "kvm_opened");
  CHECK(j["rows"][0]["median"] == doctest::Approx(1.5));
  REQUIRE(j["samples"].size() == 2);
  CHECK(j["samples"][1]["wall_ms"] == doctest::Approx(40));
  CHECK(j["samples"][1]["markers"][0]["value"] == 0x41);
}

TEST_CASE("bench text: header with the run count, one line per row") {
  std::vector<BenchRun> runs{run(1, 10, 20)};
  auto lines = format_bench_text(summarize_runs(runs), 1, {"minivmm", "run", "--kernel", "k"});
  REQUIRE(lines.size() == 2 + 5);
  CHECK(lines[0] == "minivmm bench: 1 runs of: minivmm run --kernel k");
  CHECK(lines[6].find("peak RSS (KiB)") == 0);
}

TEST_CASE("parse_marker: decimal and hex 0..255, errors name the option") {
  CHECK(parse_marker("0x41", "--marker") == uint8_t{0x41});
  CHECK(parse_marker("65", "--marker") == uint8_t{65});
  CHECK(parse_marker("0XfF", "--marker") == uint8_t{255});
  for (const char* bad : {"", "0x", "256", "-1", "4a", "0x100", " 1"}) {
    auto m = parse_marker(bad, "--marker");
    CHECK_FALSE(m);
    if (!m) CHECK(m.error().message().find("--marker") != std::string::npos);
  }
}

TEST_CASE("bench child argv: run with JSON timing, exit at the marker, no console") {
  BenchOptions o;
  o.kernel = "vmlinux";
  o.initrd = "init.cpio";
  o.marker = "0x42";
  o.extra = {"--disk", "d.img"};
  auto a = bench_child_argv(o, "/bin/minivmm");
  CHECK(a[0] == "/bin/minivmm");
  CHECK(a[1] == "run");
  auto has = [&](std::vector<std::string> seq) {
    return std::search(a.begin(), a.end(), seq.begin(), seq.end()) != a.end();
  };
  CHECK(has({"--kernel", "vmlinux"}));
  CHECK(has({"--initrd", "init.cpio"}));
  CHECK(has({"--exit-on-marker", "0x42"}));
  CHECK(has({"--console", "none"}));
  CHECK(has({"--boot-timing=json"}));
  CHECK(a[a.size() - 2] == "--disk");
  CHECK_FALSE(has({"--rootfs"}));
}

}  // namespace
}  // namespace minivmm::cli
