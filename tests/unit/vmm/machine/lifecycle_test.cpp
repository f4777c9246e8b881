// Unit tests of the lifecycle: every (state, event) pair of the transition table, valid and
// invalid, and the Lifecycle holder's guarded actions, ordered delivery and waiting.
#include "vmm/machine/lifecycle.hpp"

#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "vmm/sys/error.hpp"

namespace minivmm {
namespace {

using S = MachineState;
using E = LifecycleEvent;

constexpr S kStates[] = {S::created, S::running, S::paused, S::stopping, S::stopped};
constexpr E kEvents[] = {E::start, E::pause,      E::resume,        E::graceful_stop,
                         E::stop,  E::guest_exit, E::threads_exited};

// The whole table: a pair missing here must be refused.
const std::map<std::pair<S, E>, S> kValid = {
    {{S::created, E::start}, S::running},        {{S::created, E::stop}, S::stopped},
    {{S::running, E::pause}, S::paused},         {{S::running, E::graceful_stop}, S::running},
    {{S::running, E::stop}, S::stopping},        {{S::running, E::guest_exit}, S::stopping},
    {{S::paused, E::resume}, S::running},        {{S::paused, E::stop}, S::stopping},
    {{S::paused, E::guest_exit}, S::stopping},   {{S::stopping, E::stop}, S::stopping},
    {{S::stopping, E::guest_exit}, S::stopping}, {{S::stopping, E::threads_exited}, S::stopped},
    {{S::stopped, E::stop}, S::stopped},         {{S::stopped, E::guest_exit}, S::stopped},
};

// Drives a Lifecycle into `s` through valid events only.
void drive_to(Lifecycle& l, S s) {
  const std::map<S, std::vector<E>> paths = {
      {S::created, {}},
      {S::running, {E::start}},
      {S::paused, {E::start, E::pause}},
      {S::stopping, {E::start, E::stop}},
      {S::stopped, {E::start, E::stop, E::threads_exited}},
  };
  for (E e : paths.at(s)) REQUIRE(l.apply(e).has_value());
  REQUIRE(l.state() == s);
}

TEST_CASE("next_state: every state and event pair follows the table") {
  for (S s : kStates) {
    for (E e : kEvents) {
      CAPTURE(to_string(s));
      CAPTURE(to_string(e));
      auto r = next_state(s, e);
      auto it = kValid.find({s, e});
      if (it != kValid.end()) {
        REQUIRE(r.has_value());
        CHECK(*r == it->second);
      } else {
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code() == ErrorCode::invalid_state);
        // The message names the call and the state.
        CHECK(r.error().message() == std::string(to_string(e)) + ": machine is " + to_string(s));
      }
    }
  }
}

TEST_CASE("Lifecycle::apply: an invalid event in any state changes nothing and runs no action") {
  for (S s : kStates) {
    for (E e : kEvents) {
      if (kValid.count({s, e})) continue;
      std::vector<std::pair<S, S>> seen;
      Lifecycle l([&](S from, S to) { seen.emplace_back(from, to); });
      drive_to(l, s);
      seen.clear();
      bool ran = false;
      auto r = l.apply(e, [&](S, S) -> Result<void> {
        ran = true;
        return {};
      });
      CAPTURE(to_string(s));
      CAPTURE(to_string(e));
      CHECK_FALSE(r.has_value());
      CHECK_FALSE(ran);
      CHECK(l.state() == s);
      CHECK(seen.empty());
    }
  }
}

TEST_CASE("Lifecycle::apply: a valid event changes the state and reports it once, if it changed") {
  for (const auto& [key, to] : kValid) {
    auto [s, e] = key;
    std::vector<std::pair<S, S>> seen;
    Lifecycle l([&](S f, S t) { seen.emplace_back(f, t); });
    drive_to(l, s);
    seen.clear();
    auto r = l.apply(e);
    REQUIRE(r.has_value());
    CHECK(*r == s);
    CHECK(l.state() == to);
    if (to == s)
      CHECK(seen.empty());
    else
      CHECK(seen == std::vector<std::pair<S, S>>{{s, to}});
  }
}

TEST_CASE("Lifecycle::apply: a failing action cancels the transition") {
  std::vector<std::pair<S, S>> seen;
  Lifecycle l([&](S f, S t) { seen.emplace_back(f, t); });
  auto r = l.apply(E::start, [](S from, S to) -> Result<void> {
    CHECK(from == S::created);
    CHECK(to == S::running);
    return make_error(ErrorCode::invalid_state, "threads refused");
  });
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().context() == "threads refused");
  CHECK(l.state() == S::created);
  CHECK(seen.empty());
}

TEST_CASE("Lifecycle: changes made from inside the callback are delivered after it, in order") {
  std::vector<std::pair<S, S>> seen;
  Lifecycle* self = nullptr;
  Lifecycle l([&](S f, S t) {
    seen.emplace_back(f, t);
    // The callback may drive the machine; its changes queue behind the current one.
    if (t == S::running) REQUIRE(self->apply(E::stop).has_value());
    if (t == S::stopping) REQUIRE(self->apply(E::threads_exited).has_value());
  });
  self = &l;
  REQUIRE(l.apply(E::start).has_value());
  CHECK(seen == std::vector<std::pair<S, S>>{{S::created, S::running},
                                             {S::running, S::stopping},
                                             {S::stopping, S::stopped}});
}

TEST_CASE("Lifecycle::wait_for_state: times out without changing anything, wakes on the change") {
  Lifecycle l(nullptr);
  REQUIRE(l.apply(E::start).has_value());
  CHECK_FALSE(l.wait_for_state(S::stopped, std::chrono::milliseconds(10)));
  CHECK(l.state() == S::running);
  std::thread t([&] {
    REQUIRE(l.apply(E::guest_exit).has_value());
    REQUIRE(l.apply(E::threads_exited).has_value());
  });
  CHECK(l.wait_for_state(S::stopped, std::nullopt));
  t.join();
  CHECK(l.wait_for_state(S::stopped, std::chrono::milliseconds(0)));
}

}  // namespace
}  // namespace minivmm
