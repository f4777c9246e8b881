// The Machine lifecycle as a pure transition table (next_state) plus Lifecycle, the thread-safe
// holder that applies events, lets callers wait for a state, and hands every change to the
// embedder's on_state_change in order without holding its lock. It does not start or stop
// threads: Machine::Impl does that inside the guarded action of each event.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <utility>

#include <minivmm/config.hpp>
#include <minivmm/error.hpp>

namespace minivmm {

/// Everything that can move a Machine between MachineStates.
enum class LifecycleEvent {
  start,           ///< Machine::start
  pause,           ///< Machine::pause
  resume,          ///< Machine::resume
  graceful_stop,   ///< Machine::request_graceful_stop (the state does not change)
  stop,            ///< Machine::request_stop or an expired graceful-stop deadline
  guest_exit,      ///< the guest reset, powered off or failed (a vCPU or device decided)
  threads_exited,  ///< the last vCPU or event-loop thread ended
};

/// The public call an event stands for, as error messages name it ("pause", "start", ...).
const char* to_string(LifecycleEvent e) noexcept;

/// The state after `event` in `from`, or invalid_state naming the event and the state
/// ("pause: machine is paused"). Repeated stops and late guest exits while stopping or stopped
/// are allowed and keep the state (the first reason already won).
Result<MachineState> next_state(MachineState from, LifecycleEvent event);

/// The current state, guarded. Changes are queued and delivered to the callback after the lock
/// is released, in the order they happened, by whichever thread caused them (a change caused
/// while another thread delivers is delivered by that thread).
class Lifecycle {
 public:
  using Callback = std::function<void(MachineState from, MachineState to)>;
  /// Runs under the lock once the transition is known to be valid; its error cancels the
  /// transition (the state stays).
  using Action = std::function<Result<void>(MachineState from, MachineState to)>;

  explicit Lifecycle(Callback on_change) : m_on_change(std::move(on_change)) {}
  Lifecycle(const Lifecycle&) = delete;
  Lifecycle& operator=(const Lifecycle&) = delete;

  MachineState state() const;
  /// Applies `event`: checks it with next_state, runs `action`, changes the state, delivers.
  /// Returns the previous state.
  Result<MachineState> apply(LifecycleEvent event, const Action& action = {});
  /// Blocks until the state is `target` (or `timeout` passed: false). Also waits until every
  /// queued change has been delivered, so a caller sees the callbacks complete.
  bool wait_for_state(MachineState target, std::optional<std::chrono::milliseconds> timeout);

 private:
  void deliver();

  const Callback m_on_change;
  mutable std::mutex m_mutex;  // guards everything below
  std::condition_variable m_cv;
  MachineState m_state = MachineState::created;
  std::deque<std::pair<MachineState, MachineState>> m_pending;
  bool m_delivering = false;
};

}  // namespace minivmm
