// KernelImage: what a format parser (elf_loader, bzimage_loader) learned from a kernel file,
// already validated against the file itself: the byte ranges to copy to which guest-physical
// addresses, the entry point and entry mode, and the limits the kernel imposes on the command
// line and initrd. It owns no guest memory and knows nothing of RAM size; placement.hpp checks
// the segments against guest RAM and the loader's reserved low memory.
#pragma once

#include <asm/bootparam.h>

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "boot/linux_loader.hpp"

namespace minivmm::boot {

/// One piece of the kernel: file bytes copied to gpa, then zero-filled up to memsz.
struct KernelSegment {
  uint64_t gpa = 0;
  std::span<const uint8_t> data;  ///< inside the kernel file; data.size() <= memsz
  uint64_t memsz = 0;
};

struct KernelImage {
  KernelFormat format = KernelFormat::elf_64;
  std::vector<KernelSegment> segments;
  uint64_t entry = 0;           ///< 64-bit entry, or the 32-bit PVH entry for elf_pvh
  uint64_t start = 0;           ///< lowest gpa the kernel occupies
  uint64_t end = 0;             ///< one past the highest (bzImage: includes init_size)
  uint64_t cmdline_max = 0;     ///< longest accepted command line, including the NUL
  uint64_t initrd_end_max = 0;  ///< initrd must end at or below this gpa
  /// bzImage only: the setup header as found in the file (Linux boot protocol 2.06+).
  std::optional<setup_header> setup;
};

}  // namespace minivmm::boot
