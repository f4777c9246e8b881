// Implementation of the owned eventfd.
#include "vmm/sys/event_fd.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

namespace minivmm {

Result<EventFd> EventFd::create(int flags) {
  int fd = ::eventfd(0, EFD_CLOEXEC | flags);
  if (fd < 0) return errno_error("eventfd");
  return EventFd(UniqueFd(fd));
}

void EventFd::signal() const noexcept {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(m_fd.get(), &one, sizeof one);
}

uint64_t EventFd::consume() const noexcept {
  uint64_t v = 0;
  if (::read(m_fd.get(), &v, sizeof v) != static_cast<ssize_t>(sizeof v)) return 0;
  return v;
}

}  // namespace minivmm
