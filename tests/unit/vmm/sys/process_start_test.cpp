// Unit tests of the process start time: the /proc/<pid>/stat parser and the live reading.
#include "vmm/sys/process_start.hpp"

#include <chrono>
#include <string>

#include <doctest/doctest.h>

namespace minivmm {
namespace {

// A real line (Linux 6.1) with field 22 = 4218.
constexpr const char* kStatLine =
    "1234 (minivmm) S 1 1234 1234 34816 1234 4194560 120 0 0 0 1 2 0 0 20 0 1 0 4218 "
    "6000000 400 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0\n";

TEST_CASE("process start: field 22 is parsed from a stat line") {
  CHECK(parse_stat_starttime(kStatLine) == 4218);
}

TEST_CASE("process start: a command name with spaces and parentheses does not shift fields") {
  const char* line = "77 (a) b (c) S 1 77 77 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0 0\n";
  CHECK(parse_stat_starttime(line) == 99);
}

TEST_CASE("process start: malformed stat lines are rejected") {
  CHECK_FALSE(parse_stat_starttime(""));
  CHECK_FALSE(parse_stat_starttime("1234 minivmm S 1"));
  CHECK_FALSE(parse_stat_starttime("1234 (minivmm) S 1 2 3"));
  CHECK_FALSE(parse_stat_starttime("1 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 12x4 0\n"));
  CHECK_FALSE(parse_stat_starttime("1 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 -5 0\n"));
}

TEST_CASE("process start: the live reading comes from /proc and lies in the past") {
  const ProcessStart start = process_start();
  CHECK(start.source == ProcessStartSource::proc_stat);
  const auto now = std::chrono::steady_clock::now();
  CHECK(start.time <= now);
  // This test binary was exec'd moments ago; allow for slow CI machines.
  CHECK(now - start.time < std::chrono::hours(1));
}

TEST_CASE("process start: repeated calls return the same time") {
  CHECK(process_start_time() == process_start_time());
  CHECK(process_start_time() == process_start().time);
}

}  // namespace
}  // namespace minivmm

namespace minivmm {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::steady_clock;

steady_clock::time_point at_ns(int64_t ns) {
  return steady_clock::time_point(
      std::chrono::duration_cast<steady_clock::duration>(nanoseconds(ns)));
}

TEST_CASE("spawn time: a plausible value between the /proc start (minus slack) and now is taken") {
  const auto now = at_ns(10'000'000'000);
  const auto proc = at_ns(9'990'000'000);  // tick-rounded: up to 10 ms before the real exec
  auto t = accept_spawn_time("9995000000", now, proc, milliseconds(250));
  REQUIRE(t);
  CHECK(*t == at_ns(9'995'000'000));
  // Before the /proc start, but within the slack (a slow fork): still taken.
  CHECK(accept_spawn_time("9800000000", now, proc, milliseconds(250)));
  // Without /proc only "not after now" is checked.
  CHECK(accept_spawn_time("1", now, std::nullopt, milliseconds(250)));
}

TEST_CASE("spawn time: stale, future and malformed values are refused") {
  const auto now = at_ns(10'000'000'000);
  const auto proc = at_ns(9'990'000'000);
  // A value inherited from a grandparent's spawn, long before this process started.
  CHECK_FALSE(accept_spawn_time("5000000000", now, proc, milliseconds(250)));
  CHECK_FALSE(accept_spawn_time("10000000001", now, proc, milliseconds(250)));  // after now
  for (const char* bad : {"", "-5", "12a", " 9995000000", "0x10", "99999999999999999999999"})
    CHECK_FALSE(accept_spawn_time(bad, now, proc, milliseconds(250)));
}

TEST_CASE("process start sources have names") {
  CHECK(std::string(to_string(ProcessStartSource::spawner)) == "spawner");
  CHECK(std::string(to_string(ProcessStartSource::proc_stat)) == "proc_stat");
  CHECK(std::string(to_string(ProcessStartSource::fallback_now)) == "fallback_now");
}

}  // namespace
}  // namespace minivmm
