// EventFd: an owned eventfd(2) used for irqfd, ioeventfd and cross-thread wake-ups. It knows
// nothing of KVM; the Vm wrapper registers it.
#pragma once

#include <cstdint>

#include "vmm/sys/error.hpp"
#include "vmm/sys/unique_fd.hpp"

namespace minivmm {

class EventFd {
 public:
  /// eventfd(0, EFD_CLOEXEC | flags); pass EFD_NONBLOCK for descriptors polled by the event loop.
  static Result<EventFd> create(int flags = 0);

  int fd() const noexcept { return m_fd.get(); }
  /// Adds 1 to the counter. Failure can only mean counter overflow, which a signal cannot lose.
  void signal() const noexcept;
  /// Reads and clears the counter; 0 if the descriptor is non-blocking and nothing was pending.
  uint64_t consume() const noexcept;

 private:
  explicit EventFd(UniqueFd fd) : m_fd(std::move(fd)) {}
  UniqueFd m_fd;
};

}  // namespace minivmm
