// Unit tests of StartTimeline: phases keep their order and both references, mark_once records a
// name only the first time (the first vCPU to enter KVM_RUN), and concurrent marks are all kept.
#include "vmm/machine/start_timeline.hpp"

#include <thread>
#include <vector>

#include <doctest/doctest.h>

namespace minivmm {
namespace {

using Clock = StartTimeline::Clock;

TEST_CASE("start timeline: phases in order, measured from exec and from create") {
  const auto create = Clock::now();
  const auto exec = create - std::chrono::milliseconds(5);
  StartTimeline t(exec, create);
  t.mark("kvm_opened");
  t.mark("memory_ready");
  auto p = t.phases();
  REQUIRE(p.size() == 2);
  CHECK(p[0].name == "kvm_opened");
  CHECK(p[1].name == "memory_ready");
  CHECK(p[0].since_create >= std::chrono::nanoseconds(0));
  CHECK(p[0].since_exec - p[0].since_create == std::chrono::milliseconds(5));
  CHECK(p[1].since_exec >= p[0].since_exec);
}

TEST_CASE("start timeline: mark_once keeps the first time only") {
  StartTimeline t(Clock::now(), Clock::now());
  t.mark_once("first_kvm_run");
  const auto first = t.phases().at(0).since_create;
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  t.mark_once("first_kvm_run");
  auto p = t.phases();
  REQUIRE(p.size() == 1);
  CHECK(p[0].since_create == first);
}

TEST_CASE("start timeline: concurrent marks are all recorded, in time order") {
  StartTimeline t(Clock::now(), Clock::now());
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&t, i] {
      for (int k = 0; k < 100; ++k) t.mark("t" + std::to_string(i));
    });
  for (auto& th : threads) th.join();
  auto p = t.phases();
  REQUIRE(p.size() == 400);
  for (size_t i = 1; i < p.size(); ++i) CHECK(p[i].since_create >= p[i - 1].since_create);
}

}  // namespace
}  // namespace minivmm
