// Mapping: sole owner of an mmap()ed range, unmapped on destruction. Creation goes through
// Mapping::create so failures come back as Result, never as a half-built object.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <utility>

#include "vmm/sys/error.hpp"

namespace minivmm {

class Mapping {
 public:
  Mapping() = default;
  /// mmap(nullptr, size, prot, flags, fd, offset).
  static Result<Mapping> create(size_t size, int prot, int flags, int fd, off_t offset);
  /// An anonymous mapping (MAP_ANONYMOUS is added to `flags`) whose start is a multiple of
  /// `alignment` (a power of two, at least the page size), e.g. 2 MiB so transparent huge pages
  /// can back it from its first byte: maps size + alignment, then unmaps the excess.
  static Result<Mapping> create_aligned_anonymous(size_t size, size_t alignment, int prot,
                                                  int flags);

  Mapping(Mapping&& o) noexcept
      : m_addr(std::exchange(o.m_addr, nullptr)), m_size(std::exchange(o.m_size, 0)) {}
  Mapping& operator=(Mapping&& o) noexcept;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() { reset(); }

  uint8_t* data() const noexcept { return static_cast<uint8_t*>(m_addr); }
  size_t size() const noexcept { return m_size; }
  void reset() noexcept;

 private:
  Mapping(void* addr, size_t size) : m_addr(addr), m_size(size) {}
  void* m_addr = nullptr;
  size_t m_size = 0;
};

}  // namespace minivmm
