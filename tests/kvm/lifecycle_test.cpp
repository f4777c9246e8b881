// KVM tests of the Machine lifecycle API with tiny guests: the state-change callbacks in order
// through start, pause, resume and stop; wait from two threads and wait_for's timeout; calls in
// the wrong state; a graceful stop that a guest reading its keyboard turns into a reset, and one a
// guest ignores until the deadline; console input and the per-vCPU exit counters in metrics().
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <minivmm/machine.hpp>
#include "tests/support/tiny_guest.hpp"

using namespace minivmm;
using namespace minivmm::test;
using namespace std::chrono_literals;

namespace {

constexpr uint16_t kBootTimerPort = 0x440;

MachineConfig lifecycle_config(const TempFile& kernel) {
  MachineConfig c;
  c.kernel_path = kernel.path();
  c.memory_mib = 16;
  c.cmdline = "";
  c.console.output = ConsoleConfig::Output::none;
  return c;
}

std::unique_ptr<Machine> create(const MachineConfig& c) {
  auto m = Machine::create(c);
  REQUIRE_MESSAGE(m, (m ? "" : m.error().message()));
  return std::move(*m);
}

// A guest that writes the boot timer forever.
void spin_marking(TinyGuestCode& g) {
  g.L("loop");
  g.mov(g.dx, kBootTimerPort);
  g.mov(g.al, 0x50);
  g.out_(g.dx, g.al);
  g.jmp("loop");
}

using Transitions = std::vector<std::pair<MachineState, MachineState>>;

}  // namespace

TEST_CASE("state changes reach on_state_change in order: start, pause, resume, stop") {
  TinyGuestCode g;
  spin_marking(g);
  g.ready();
  TempFile k(g.elf());
  std::mutex mu;
  Transitions seen;
  MachineConfig c = lifecycle_config(k);
  c.on_state_change = [&](MachineState from, MachineState to) {
    std::lock_guard lock(mu);
    seen.emplace_back(from, to);
  };
  auto m = create(c);
  CHECK(m->state() == MachineState::created);
  REQUIRE(m->start());
  CHECK(m->state() == MachineState::running);
  REQUIRE(m->pause());
  CHECK(m->state() == MachineState::paused);
  auto wrong = m->resume().and_then([&] { return m->start(); });
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().code() == ErrorCode::invalid_state);
  CHECK(m->state() == MachineState::running);
  m->request_stop();
  auto st = m->wait();
  REQUIRE(st);
  CHECK(st->reason == ExitReason::stopped_by_host);
  CHECK(m->state() == MachineState::stopped);
  std::lock_guard lock(mu);
  CHECK(seen == Transitions{{MachineState::created, MachineState::running},
                            {MachineState::running, MachineState::paused},
                            {MachineState::paused, MachineState::running},
                            {MachineState::running, MachineState::stopping},
                            {MachineState::stopping, MachineState::stopped}});
}

TEST_CASE("wait_for times out without changing anything; two waiters get the same status") {
  TinyGuestCode g;
  spin_marking(g);
  g.ready();
  TempFile k(g.elf());
  auto m = create(lifecycle_config(k));
  auto early = m->wait();
  REQUIRE_FALSE(early);
  CHECK(early.error().code() == ErrorCode::invalid_state);
  REQUIRE(m->start());
  auto timed_out = m->wait_for(50ms);
  REQUIRE_FALSE(timed_out);
  CHECK(timed_out.error().code() == ErrorCode::timeout);
  CHECK(m->state() == MachineState::running);
  auto a = std::async(std::launch::async, [&] { return m->wait(); });
  auto b = std::async(std::launch::async, [&] { return m->wait(); });
  std::this_thread::sleep_for(20ms);
  m->request_stop();
  auto sa = a.get();
  auto sb = b.get();
  REQUIRE(sa);
  REQUIRE(sb);
  CHECK(sa->reason == ExitReason::stopped_by_host);
  CHECK(sb->reason == ExitReason::stopped_by_host);
  CHECK(m->wait().value().reason == ExitReason::stopped_by_host);  // again, at once
}

TEST_CASE("request_stop in created goes straight to stopped; later calls are refused") {
  TinyGuestCode g;
  spin_marking(g);
  g.ready();
  TempFile k(g.elf());
  auto m = create(lifecycle_config(k));
  m->request_stop();
  CHECK(m->state() == MachineState::stopped);
  CHECK(m->wait().value().reason == ExitReason::stopped_by_host);
  CHECK_FALSE(m->start());
  CHECK_FALSE(m->pause());
  CHECK_FALSE(m->send_console_input("x"));
  CHECK_FALSE(m->request_graceful_stop(100ms));
}

TEST_CASE("a graceful stop reaches a guest that reads its keyboard; it resets") {
  // The guest polls the i8042 status until the output buffer fills, then pulses reset.
  TinyGuestCode g;
  g.L("poll");
  g.in_(g.al, 0x64);
  g.test(g.al, 1);
  g.jz("poll");
  g.in_(g.al, 0x60);
  g.mov(g.al, 0xfe);
  g.out_(0x64, g.al);
  g.L("spin");
  g.jmp("spin");
  g.ready();
  TempFile k(g.elf());
  auto m = create(lifecycle_config(k));
  REQUIRE(m->start());
  REQUIRE(m->request_graceful_stop(10s));
  auto again = m->request_graceful_stop(10s);
  // Either still pending (invalid_state) or already stopping: never accepted twice.
  CHECK_FALSE(again);
  CHECK(m->wait().value().reason == ExitReason::guest_reset);
}

TEST_CASE("a graceful stop a guest ignores ends at the deadline") {
  TinyGuestCode g;
  spin_marking(g);
  g.ready();
  TempFile k(g.elf());
  auto m = create(lifecycle_config(k));
  REQUIRE(m->start());
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(m->request_graceful_stop(100ms));
  auto st = m->wait();
  REQUIRE(st);
  CHECK(st->reason == ExitReason::graceful_stop_timeout);
  CHECK(std::chrono::steady_clock::now() - t0 >= 100ms);
}

TEST_CASE("console input while running; metrics count vCPU exits and report the state") {
  TinyGuestCode g;
  spin_marking(g);
  g.ready();
  TempFile k(g.elf());
  auto m = create(lifecycle_config(k));
  CHECK_FALSE(m->send_console_input("early"));
  REQUIRE(m->start());
  CHECK(m->send_console_input("hello\n"));
  auto too_much = m->send_console_input(std::string(8192, 'x'));
  REQUIRE_FALSE(too_much);
  CHECK(too_much.error().code() == std::error_code(ENOBUFS, std::system_category()));
  std::this_thread::sleep_for(50ms);
  Metrics mt = m->metrics();
  CHECK(mt.state == MachineState::running);
  REQUIRE(mt.vcpus.size() == 1);
  CHECK(mt.vcpus[0].exits > 0);
  CHECK(mt.vcpus[0].thread_id != 0);
  CHECK(mt.uptime > 0ns);
  CHECK(to_json(mt).find("\"state\":\"running\"") != std::string::npos);
  m->request_stop();
  CHECK(m->wait().value().reason == ExitReason::stopped_by_host);
}
