// Unit tests of StopController: the first stop reason wins, later ones are ignored; the stop
// action runs exactly once even when eight threads call stop() together; stopping() turns true;
// and wait_reason() blocks until some thread stops the machine, then returns the first reason.
#include "vmm/machine/stop_controller.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

namespace minivmm {
namespace {

TEST_CASE("a new controller is not stopping") {
  StopController s;
  CHECK_FALSE(s.stopping());
}

TEST_CASE("stop records the reason and detail and sets stopping") {
  StopController s;
  s.stop(ExitReason::triple_fault, "rip=0x1000");
  CHECK(s.stopping());
  ExitStatus st = s.wait_reason();
  CHECK(st.reason == ExitReason::triple_fault);
  CHECK(st.detail == "rip=0x1000");
}

TEST_CASE("the first stop reason wins over later ones") {
  StopController s;
  s.stop(ExitReason::guest_shutdown, "first");
  s.stop(ExitReason::internal_error, "second");
  s.stop(ExitReason::stopped_by_host, "third");
  ExitStatus st = s.wait_reason();
  CHECK(st.reason == ExitReason::guest_shutdown);
  CHECK(st.detail == "first");
}

TEST_CASE("the stop action runs once across repeated stops") {
  StopController s;
  int calls = 0;
  s.set_on_stop([&] { ++calls; });
  s.stop(ExitReason::guest_reset, "");
  s.stop(ExitReason::guest_reset, "");
  CHECK(calls == 1);
}

TEST_CASE("stop without a stop action is fine") {
  StopController s;
  s.stop(ExitReason::stopped_by_host, "");
  CHECK(s.stopping());
}

TEST_CASE("the stop action sees stopping already true") {
  StopController s;
  bool seen = false;
  s.set_on_stop([&] { seen = s.stopping(); });
  s.stop(ExitReason::guest_reset, "");
  CHECK(seen);
}

TEST_CASE("concurrent stops from eight threads run the action once and record one of them") {
  for (int round = 0; round < 50; ++round) {
    StopController s;
    std::atomic<int> calls{0};
    s.set_on_stop([&] { calls.fetch_add(1); });
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i)
      threads.emplace_back([&, i] {
        while (!go.load()) std::this_thread::yield();
        s.stop(i % 2 ? ExitReason::internal_error : ExitReason::guest_reset,
               "thread " + std::to_string(i));
      });
    go.store(true);
    for (auto& t : threads) t.join();
    CHECK(calls.load() == 1);
    ExitStatus st = s.wait_reason();
    CHECK(st.detail.rfind("thread ", 0) == 0);
    int i = std::stoi(st.detail.substr(7));
    CHECK(st.reason == (i % 2 ? ExitReason::internal_error : ExitReason::guest_reset));
  }
}

TEST_CASE("wait_reason blocks until another thread stops") {
  StopController s;
  auto waiter = std::async(std::launch::async, [&] { return s.wait_reason(); });
  CHECK(waiter.wait_for(std::chrono::milliseconds(100)) == std::future_status::timeout);
  s.stop(ExitReason::guest_shutdown, "poweroff");
  s.stop(ExitReason::internal_error, "late");
  REQUIRE(waiter.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  ExitStatus st = waiter.get();
  CHECK(st.reason == ExitReason::guest_shutdown);
  CHECK(st.detail == "poweroff");
}

TEST_CASE("several waiters all wake with the first reason") {
  StopController s;
  std::vector<std::future<ExitStatus>> waiters;
  for (int i = 0; i < 4; ++i)
    waiters.push_back(std::async(std::launch::async, [&] { return s.wait_reason(); }));
  s.stop(ExitReason::triple_fault, "tf");
  for (auto& w : waiters) {
    REQUIRE(w.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    CHECK(w.get().reason == ExitReason::triple_fault);
  }
}

TEST_CASE("wait_reason returns at once after stop and may be called again") {
  StopController s;
  s.stop(ExitReason::internal_error, "x");
  CHECK(s.wait_reason().reason == ExitReason::internal_error);
  CHECK(s.wait_reason().reason == ExitReason::internal_error);
}

}  // namespace
}  // namespace minivmm
