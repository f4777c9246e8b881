// Unit tests of RateLimiter: within one one-second window the first N events are allowed and the
// rest are refused and counted in suppressed(); a new window allows N again while the suppressed
// count keeps accumulating. Each check retries if the steady clock crossed a second boundary
// during it, so the tests do not flake on slow machines.
#include "vmm/sys/rate_limit.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

namespace minivmm {
namespace {

int64_t second_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Runs `events` allow() calls on a fresh limiter inside one second; returns how many were allowed.
struct Burst {
  uint32_t allowed = 0;
  uint64_t suppressed = 0;
};
Burst burst(uint32_t per_second, uint32_t events) {
  for (int attempt = 0; attempt < 10; ++attempt) {
    RateLimiter r(per_second);
    const int64_t start = second_now();
    Burst b;
    for (uint32_t i = 0; i < events; ++i) b.allowed += r.allow() ? 1 : 0;
    b.suppressed = r.suppressed();
    if (second_now() == start) return b;
  }
  FAIL("could not stay within one second");
  return {};
}

TEST_CASE("the first N events in a second are allowed and the rest suppressed") {
  Burst b = burst(5, 100);
  CHECK(b.allowed == 5);
  CHECK(b.suppressed == 95);
}

TEST_CASE("exactly N events in a second are all allowed") {
  Burst b = burst(10, 10);
  CHECK(b.allowed == 10);
  CHECK(b.suppressed == 0);
}

TEST_CASE("a limit of zero suppresses every event") {
  Burst b = burst(0, 7);
  CHECK(b.allowed == 0);
  CHECK(b.suppressed == 7);
}

TEST_CASE("a fresh limiter has nothing suppressed") {
  RateLimiter r(3);
  CHECK(r.suppressed() == 0);
}

TEST_CASE("a new second allows N more events and keeps the suppressed count") {
  for (int attempt = 0; attempt < 10; ++attempt) {
    RateLimiter fresh(2);
    const int64_t start = second_now();
    CHECK(fresh.allow());
    CHECK(fresh.allow());
    CHECK_FALSE(fresh.allow());
    if (second_now() != start) continue;
    // Wait for the next second.
    while (second_now() == start) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const int64_t next = second_now();
    bool a = fresh.allow();
    bool b = fresh.allow();
    bool c = fresh.allow();
    if (second_now() != next) continue;
    CHECK(a);
    CHECK(b);
    CHECK_FALSE(c);
    CHECK(fresh.suppressed() == 2);
    return;
  }
  FAIL("could not stay within one second");
}

TEST_CASE("concurrent callers never get more than N events through in one second") {
  for (int attempt = 0; attempt < 10; ++attempt) {
    RateLimiter r(50);
    std::atomic<uint32_t> allowed{0};
    const int64_t start = second_now();
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&] {
        for (int i = 0; i < 1000; ++i)
          if (r.allow()) allowed.fetch_add(1);
      });
    for (auto& t : threads) t.join();
    if (second_now() != start) continue;
    CHECK(allowed.load() == 50);
    CHECK(r.suppressed() == 4000 - 50);
    return;
  }
  FAIL("could not stay within one second");
}

}  // namespace
}  // namespace minivmm
