// StartTimeline: the timestamps of the steps of one machine's create and start (StartPhase in the
// public API), taken on steady_clock against the process-start and create-begin references. It
// owns only the clock reads and their order; which steps exist is decided by machine_builder.cpp
// and machine.cpp, and what the guest marks is the boot timer's business.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include <minivmm/machine.hpp>

namespace minivmm {

class StartTimeline {
 public:
  using Clock = std::chrono::steady_clock;

  StartTimeline(Clock::time_point process_start, Clock::time_point create_begin)
      : m_process_start(process_start), m_create_begin(create_begin) {}

  /// Records `name` now. Thread-safe.
  void mark(std::string name);
  /// Records `name` now unless it was recorded before (e.g. the first KVM_RUN of any vCPU).
  void mark_once(std::string name);
  /// The phases in the order they were recorded.
  std::vector<StartPhase> phases() const;

 private:
  void record_locked(std::string name, Clock::time_point t);

  const Clock::time_point m_process_start;
  const Clock::time_point m_create_begin;
  mutable std::mutex m_mutex;
  std::vector<StartPhase> m_phases;  // guarded by m_mutex
};

}  // namespace minivmm
