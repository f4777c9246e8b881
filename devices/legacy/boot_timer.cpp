// BootTimer: timestamps guest writes to the boot-timer port against the two reference points and
// keeps the first kDefaultMaxEvents (or the configured bound) of them. The clock is read once per
// write, under the lock, so retained events are in write order and their timestamps never
// decrease.
#include "devices/legacy/boot_timer.hpp"

#include <algorithm>
#include <utility>

namespace minivmm {

BootTimer::BootTimer(Clock::time_point process_start, Clock::time_point machine_created,
                     Callback on_event, size_t max_events)
    : m_process_start(process_start),
      m_machine_created(machine_created),
      m_on_event(std::move(on_event)),
      m_max_events(max_events) {}

void BootTimer::read(uint64_t /*offset*/, std::span<uint8_t> data) {
  std::fill(data.begin(), data.end(), uint8_t{0});
}

void BootTimer::write(uint64_t offset, std::span<const uint8_t> data) {
  // Guest-controlled: offset and width. Only a write starting at the port itself counts, and only
  // its low byte (data[0], present whenever the span is non-empty).
  if (offset != 0 || data.empty()) return;
  BootTimerEvent event{};
  {
    std::lock_guard lock(m_mutex);
    const Clock::time_point now = Clock::now();
    event.value = data[0];
    event.since_exec = std::chrono::duration_cast<std::chrono::nanoseconds>(now - m_process_start);
    event.since_create =
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - m_machine_created);
    // Guest-controlled: the number of writes; history stops at m_max_events, the rest is counted.
    if (m_events.size() < m_max_events) {
      m_events.push_back(event);
    } else {
      ++m_overflowed;
    }
  }
  if (m_on_event) m_on_event(event);
}

std::vector<BootTimerEvent> BootTimer::events() const {
  std::lock_guard lock(m_mutex);
  return m_events;
}

uint64_t BootTimer::overflowed() const {
  std::lock_guard lock(m_mutex);
  return m_overflowed;
}

}  // namespace minivmm
