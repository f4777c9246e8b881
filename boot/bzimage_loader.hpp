// The bzImage parser (Linux boot protocol, Documentation/x86/boot.rst): checks the setup header
// ("HdrS" at 0x202, protocol >= 2.06, XLF_KERNEL_64), finds the protected-mode kernel after the
// setup sectors and decides its load address (16 MiB rounded up to kernel_alignment, or
// pref_address for a non-relocatable kernel) and its 64-bit entry (load address + 0x200). It
// reads only the file; RAM bounds are placement.hpp's job and the zero page is zero_page.hpp's.
#pragma once

#include <cstdint>
#include <span>

#include "boot/kernel_image.hpp"
#include "vmm/sys/error.hpp"

namespace minivmm::boot {

/// Boot protocol "Details of header fields": magic "HdrS" at file offset 0x202.
inline constexpr uint32_t kSetupHeaderMagic = 0x53726448;
inline constexpr uint64_t kSetupHeaderOffset = 0x1f1;
inline constexpr uint16_t kMinBootProtocol = 0x0206;

/// True when the file is long enough to hold a setup header and carries the "HdrS" magic.
bool is_bzimage(std::span<const uint8_t> file) noexcept;

/// Parses a bzImage. The result has one segment (the protected-mode kernel), entry = load + 0x200,
/// end = load + max(payload, init_size), cmdline_max = cmdline_size + 1, initrd_end_max =
/// initrd_addr_max + 1, and setup = the header from the file.
/// Errors: invalid_image for a missing magic, protocol < 2.06, no XLF_KERNEL_64, setup sectors
/// past the end of the file, a bad kernel_alignment, or an overflowing load range.
Result<KernelImage> parse_bzimage(std::span<const uint8_t> file);

}  // namespace minivmm::boot
