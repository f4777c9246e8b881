// Implementation of the first-reason-wins stop latch.
#include "vmm/machine/stop_controller.hpp"

namespace minivmm {

void StopController::stop(ExitReason reason, std::string detail) {
  {
    std::lock_guard lock(m_mutex);
    if (m_status) return;
    m_status = ExitStatus{reason, std::move(detail)};
    m_stopping.store(true, std::memory_order_release);
  }
  m_cv.notify_all();
  if (m_on_stop) m_on_stop();
}

ExitStatus StopController::wait_reason() {
  std::unique_lock lock(m_mutex);
  m_cv.wait(lock, [&] { return m_status.has_value(); });
  return *m_status;
}

std::optional<ExitStatus> StopController::status() const {
  std::lock_guard lock(m_mutex);
  return m_status;
}

}  // namespace minivmm
