// The Linux boot protocol zero page (struct boot_params from <asm/bootparam.h>): the setup header
// (copied from the bzImage, or synthesized for a vmlinux booted through its 64-bit entry), the
// command line and initrd pointers, and the e820 table. It fills a host-side struct; the loader
// writes it to layout::kZeroPageAddr. It does not choose any address itself.
#pragma once

#include <asm/bootparam.h>

#include <cstdint>
#include <optional>
#include <span>

#include "boot/e820.hpp"
#include "vmm/sys/error.hpp"

namespace minivmm::boot {

inline constexpr uint8_t kLoaderTypeUndefined = 0xff;  ///< boot.rst "type_of_loader": 0xff
inline constexpr uint16_t kBootFlag = 0xaa55;
inline constexpr uint16_t kSynthesizedProtocol = 0x020c;
inline constexpr uint32_t kSynthesizedAlignment = 0x1000000;

struct ZeroPageInputs {
  /// The bzImage's setup header; nullopt for a vmlinux (a 2.12 header is synthesized).
  std::optional<setup_header> setup;
  uint32_t cmdline_addr = 0;
  uint32_t cmdline_size = 0;  ///< length of this command line excluding the NUL (synthesized hdr)
  uint32_t initrd_addr = 0;   ///< 0 for none
  uint32_t initrd_size = 0;
  std::span<const E820Entry> e820;
};

/// Errors: invalid_config when the e820 map has more than E820_MAX_ENTRIES_ZEROPAGE entries.
Result<boot_params> build_zero_page(const ZeroPageInputs& in);

}  // namespace minivmm::boot
