// Unit tests of the process start time: the /proc/<pid>/stat parser and the live reading.
#include "vmm/sys/process_start.hpp"

#include <chrono>

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
