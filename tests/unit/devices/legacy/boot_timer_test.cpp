// Unit tests of the boot-timer port: recording, timestamps, widths and the history bound.
#include "devices/legacy/boot_timer.hpp"

#include <chrono>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

namespace minivmm {
namespace {

using Clock = std::chrono::steady_clock;

struct BootTimerHarness {
  std::vector<BootTimerEvent> seen;
  Clock::time_point exec = Clock::now() - std::chrono::seconds(1);
  Clock::time_point created = Clock::now();
  BootTimer timer;

  explicit BootTimerHarness(size_t max_events = BootTimer::kDefaultMaxEvents)
      : timer(
            exec, created, [this](const BootTimerEvent& e) { seen.push_back(e); }, max_events) {}

  void out(uint8_t value) { timer.write(0, std::span<const uint8_t>(&value, 1)); }
};

TEST_CASE("boot timer: a write records the value and calls back") {
  BootTimerHarness h;
  h.out(kBootTimerUserspaceInit);
  const std::vector<BootTimerEvent> events = h.timer.events();
  REQUIRE(events.size() == 1);
  CHECK(events[0].value == 0x41);
  REQUIRE(h.seen.size() == 1);
  CHECK(h.seen[0].value == 0x41);
  CHECK(h.seen[0].since_exec == events[0].since_exec);
}

TEST_CASE("boot timer: timestamps are measured from both references and never decrease") {
  BootTimerHarness h;
  h.out(1);
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  h.out(2);
  const std::vector<BootTimerEvent> events = h.timer.events();
  REQUIRE(events.size() == 2);
  CHECK(events[0].since_create >= std::chrono::nanoseconds(0));
  CHECK(events[0].since_exec >= events[0].since_create + std::chrono::seconds(1));
  CHECK(events[1].since_create > events[0].since_create);
  CHECK(events[1].since_exec > events[0].since_exec);
  CHECK(events[1].since_exec - events[1].since_create ==
        events[0].since_exec - events[0].since_create);
}

TEST_CASE("boot timer: a wide write records only its low byte") {
  BootTimerHarness h;
  const std::vector<uint8_t> wide{0x41, 0x12, 0x34, 0x56};
  h.timer.write(0, wide);
  const std::vector<BootTimerEvent> events = h.timer.events();
  REQUIRE(events.size() == 1);
  CHECK(events[0].value == 0x41);
}

TEST_CASE("boot timer: writes at other offsets and empty writes are ignored") {
  BootTimerHarness h;
  const uint8_t value = 7;
  h.timer.write(1, std::span<const uint8_t>(&value, 1));
  h.timer.write(~uint64_t{0}, std::span<const uint8_t>(&value, 1));
  h.timer.write(0, std::span<const uint8_t>());
  CHECK(h.timer.events().empty());
  CHECK(h.seen.empty());
}

TEST_CASE("boot timer: reads return 0") {
  BootTimerHarness h;
  h.out(0x41);
  std::vector<uint8_t> data(4, 0xaa);
  h.timer.read(0, data);
  CHECK(data == std::vector<uint8_t>(4, 0));
}

TEST_CASE("boot timer: history is bounded and further writes are counted and still reported") {
  BootTimerHarness h(3);
  for (int i = 0; i < 10; ++i) h.out(static_cast<uint8_t>(i));
  const std::vector<BootTimerEvent> events = h.timer.events();
  REQUIRE(events.size() == 3);
  CHECK(events[2].value == 2);
  CHECK(h.timer.overflowed() == 7);
  CHECK(h.seen.size() == 10);
}

TEST_CASE("boot timer: the default history keeps 1024 events") {
  BootTimerHarness h;
  for (int i = 0; i < 1100; ++i) h.out(static_cast<uint8_t>(i));
  CHECK(h.timer.events().size() == 1024);
  CHECK(h.timer.overflowed() == 76);
}

TEST_CASE("boot timer: the port constant and value conventions are as documented") {
  CHECK(kBootTimerPort == 0x440);
  CHECK(kBootTimerKernelEarlyBoot == 0x40);
  CHECK(kBootTimerUserspaceInit == 0x41);
}

}  // namespace
}  // namespace minivmm
