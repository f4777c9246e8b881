// MappedFile: a read-only, private mapping of a whole regular file, used to read kernel and
// initrd images without copying them into a heap buffer first. It refuses directories, devices
// and empty files with an error naming the path.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "vmm/sys/error.hpp"
#include "vmm/sys/mapping.hpp"

namespace minivmm {

class MappedFile {
 public:
  /// Errors: errno from open/fstat/mmap; invalid_config for non-regular or empty files.
  static Result<MappedFile> open(const std::string& path);

  std::span<const uint8_t> bytes() const noexcept { return {m_map.data(), m_map.size()}; }

 private:
  explicit MappedFile(Mapping m) : m_map(std::move(m)) {}
  Mapping m_map;
};

}  // namespace minivmm
