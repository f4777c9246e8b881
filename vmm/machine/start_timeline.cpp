// StartTimeline: one clock read per mark, taken under the lock so recorded phases are in time
// order even when vCPU threads and the creating thread mark concurrently.
#include "vmm/machine/start_timeline.hpp"

#include <algorithm>

namespace minivmm {

void StartTimeline::record_locked(std::string name, Clock::time_point t) {
  m_phases.push_back({std::move(name),
                      std::chrono::duration_cast<std::chrono::nanoseconds>(t - m_process_start),
                      std::chrono::duration_cast<std::chrono::nanoseconds>(t - m_create_begin)});
}

void StartTimeline::mark(std::string name) {
  std::lock_guard lock(m_mutex);
  record_locked(std::move(name), Clock::now());
}

void StartTimeline::mark_once(std::string name) {
  std::lock_guard lock(m_mutex);
  const bool seen = std::any_of(m_phases.begin(), m_phases.end(),
                                [&](const StartPhase& p) { return p.name == name; });
  if (!seen) record_locked(std::move(name), Clock::now());
}

std::vector<StartPhase> StartTimeline::phases() const {
  std::lock_guard lock(m_mutex);
  return m_phases;
}

}  // namespace minivmm
