// Implementation of the RAII mmap owner.
#include "vmm/sys/mapping.hpp"

namespace minivmm {

Result<Mapping> Mapping::create(size_t size, int prot, int flags, int fd, off_t offset) {
  void* p = ::mmap(nullptr, size, prot, flags, fd, offset);
  if (p == MAP_FAILED) return errno_error("mmap size={:#x} fd={} offset={:#x}", size, fd, offset);
  return Mapping(p, size);
}

Result<Mapping> Mapping::create_aligned_anonymous(size_t size, size_t alignment, int prot,
                                                  int flags) {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0 || size + alignment < size)
    return make_error(ErrorCode::invalid_config, "mmap: bad alignment {:#x} for size {:#x}",
                      alignment, size);
  const size_t padded = size + alignment;
  void* p = ::mmap(nullptr, padded, prot, flags | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return errno_error("mmap anonymous size={:#x}", padded);
  const auto raw = reinterpret_cast<uintptr_t>(p);
  const uintptr_t start = (raw + alignment - 1) & ~(uintptr_t{alignment} - 1);
  // Both trims are whole pages: mmap returns page-aligned memory and alignment is a multiple of
  // the page size, so munmap cannot fail here for a reason that would leave the range mapped.
  if (start > raw) ::munmap(p, start - raw);
  const uintptr_t end = start + size;
  if (raw + padded > end) ::munmap(reinterpret_cast<void*>(end), raw + padded - end);
  return Mapping(reinterpret_cast<void*>(start), size);
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
