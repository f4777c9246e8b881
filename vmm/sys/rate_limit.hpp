// RateLimiter: lets at most N events per one-second window through, counting the rest, so a
// hostile guest cannot flood the log (HOSTILE-GUEST.md). Thread-safe and lock-free enough for
// vCPU threads: a window start and two counters in atomics.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace minivmm {

class RateLimiter {
 public:
  explicit RateLimiter(uint32_t per_second) : m_per_second(per_second) {}
  /// True when this event may be logged. Suppressed events are counted in suppressed().
  bool allow() noexcept {
    int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count();
    int64_t window = m_window.load(std::memory_order_relaxed);
    if (now != window && m_window.compare_exchange_strong(window, now)) m_in_window.store(0);
    if (m_in_window.fetch_add(1, std::memory_order_relaxed) < m_per_second) return true;
    m_suppressed.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  uint64_t suppressed() const noexcept { return m_suppressed.load(); }

 private:
  const uint32_t m_per_second;
  std::atomic<int64_t> m_window{0};
  std::atomic<uint32_t> m_in_window{0};
  std::atomic<uint64_t> m_suppressed{0};
};

}  // namespace minivmm
