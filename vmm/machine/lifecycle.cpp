// Implementation of the lifecycle transition table and its guarded holder. The table is the
// whole policy: Machine::Impl never compares states itself.
#include "vmm/machine/lifecycle.hpp"

#include <spdlog/spdlog.h>

#include <exception>

#include "vmm/sys/error.hpp"

namespace minivmm {

const char* to_string(MachineState s) noexcept {
  switch (s) {
    case MachineState::created:
      return "created";
    case MachineState::running:
      return "running";
    case MachineState::paused:
      return "paused";
    case MachineState::stopping:
      return "stopping";
    case MachineState::stopped:
      return "stopped";
  }
  return "unknown";
}

const char* to_string(LifecycleEvent e) noexcept {
  switch (e) {
    case LifecycleEvent::start:
      return "start";
    case LifecycleEvent::pause:
      return "pause";
    case LifecycleEvent::resume:
      return "resume";
    case LifecycleEvent::graceful_stop:
      return "request_graceful_stop";
    case LifecycleEvent::stop:
      return "request_stop";
    case LifecycleEvent::guest_exit:
      return "guest exit";
    case LifecycleEvent::threads_exited:
      return "threads exited";
  }
  return "unknown";
}

namespace {

std::optional<MachineState> lookup(MachineState from, LifecycleEvent event) {
  using S = MachineState;
  using E = LifecycleEvent;
  switch (from) {
    case S::created:
      // Nothing ran: a stop needs no thread to end.
      if (event == E::start) return S::running;
      if (event == E::stop) return S::stopped;
      return std::nullopt;
    case S::running:
      if (event == E::pause) return S::paused;
      if (event == E::graceful_stop) return S::running;
      if (event == E::stop || event == E::guest_exit) return S::stopping;
      return std::nullopt;
    case S::paused:
      // A device (a deadline, an i8042 reset already latched) may end a paused machine.
      if (event == E::resume) return S::running;
      if (event == E::stop || event == E::guest_exit) return S::stopping;
      return std::nullopt;
    case S::stopping:
      if (event == E::stop || event == E::guest_exit) return S::stopping;
      if (event == E::threads_exited) return S::stopped;
      return std::nullopt;
    case S::stopped:
      if (event == E::stop || event == E::guest_exit) return S::stopped;
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

Result<MachineState> next_state(MachineState from, LifecycleEvent event) {
  auto to = lookup(from, event);
  if (!to)
    return make_error(ErrorCode::invalid_state, "{}: machine is {}", to_string(event),
                      to_string(from));
  return *to;
}

MachineState Lifecycle::state() const {
  std::lock_guard lock(m_mutex);
  return m_state;
}

Result<MachineState> Lifecycle::apply(LifecycleEvent event, const Action& action) {
  MachineState from;
  {
    std::lock_guard lock(m_mutex);
    from = m_state;
    MINIVMM_TRY(to, next_state(from, event));
    if (action) MINIVMM_TRY_VOID(action(from, to));
    if (to == from) return from;
    m_state = to;
    m_pending.emplace_back(from, to);
  }
  m_cv.notify_all();
  deliver();
  return from;
}

void Lifecycle::deliver() {
  std::unique_lock lock(m_mutex);
  if (m_delivering) return;  // that thread delivers ours too, in order
  m_delivering = true;
  while (!m_pending.empty()) {
    auto [from, to] = m_pending.front();
    m_pending.pop_front();
    lock.unlock();
    if (m_on_change) {
      try {
        m_on_change(from, to);
      } catch (const std::exception& e) {
        // The embedder's bug must not unwind through a vCPU or event-loop thread.
        spdlog::error("on_state_change {} -> {} threw: {}", to_string(from), to_string(to),
                      e.what());
      }
    }
    lock.lock();
  }
  m_delivering = false;
  lock.unlock();
  m_cv.notify_all();
}

bool Lifecycle::wait_for_state(MachineState target,
                               std::optional<std::chrono::milliseconds> timeout) {
  std::unique_lock lock(m_mutex);
  auto done = [&] { return m_state == target && m_pending.empty() && !m_delivering; };
  if (!timeout) {
    m_cv.wait(lock, done);
    return true;
  }
  return m_cv.wait_for(lock, *timeout, done);
}

}  // namespace minivmm
