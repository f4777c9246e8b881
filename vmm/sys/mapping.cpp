// Implementation of the RAII mmap owner.
#include "vmm/sys/mapping.hpp"

namespace minivmm {

Result<Mapping> Mapping::create(size_t size, int prot, int flags, int fd, off_t offset) {
  void* p = ::mmap(nullptr, size, prot, flags, fd, offset);
  if (p == MAP_FAILED) return errno_error("mmap size={:#x} fd={} offset={:#x}", size, fd, offset);
  return Mapping(p, size);
}

Mapping& Mapping::operator=(Mapping&& o) noexcept {
  if (this != &o) {
    reset();
    m_addr = std::exchange(o.m_addr, nullptr);
    m_size = std::exchange(o.m_size, 0);
  }
  return *this;
}

void Mapping::reset() noexcept {
  if (m_addr != nullptr) ::munmap(m_addr, m_size);
  m_addr = nullptr;
  m_size = 0;
}

}  // namespace minivmm
