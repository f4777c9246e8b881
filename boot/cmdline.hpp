// The kernel command line: checks it against the kernel's limit and the loader's reserved area,
// and produces its NUL-terminated bytes. It does not know where the line is written
// (layout::kCmdlineAddr) or how the kernel learns its address (zero page / start_info).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "vmm/sys/error.hpp"

namespace minivmm::boot {

/// cmdline plus its terminating NUL. max_with_nul is the kernel's limit including the NUL
/// (bzImage: cmdline_size + 1; vmlinux: 2048); the loader's area (layout::kCmdlineMax) also
/// applies. Errors: invalid_config when the line is too long or contains a NUL byte.
Result<std::vector<uint8_t>> encode_cmdline(std::string_view cmdline, uint64_t max_with_nul);

}  // namespace minivmm::boot
