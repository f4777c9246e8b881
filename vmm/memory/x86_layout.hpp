// The x86_64 guest-physical layout minivmm uses: RAM from 0 up to the 32-bit MMIO gap, the gap
// itself (device MMIO windows, IOAPIC, LAPIC), and RAM continuing at 4 GiB. Addresses of the boot
// structures that boot/ writes live in boot/, not here; this file only fixes what both the machine
// (device windows) and the boot code (e820) must agree on.
#pragma once

#include <cstdint>
#include <vector>

#include "vmm/memory/guest_memory.hpp"

namespace minivmm::x86 {

inline constexpr uint64_t kMmioGapStart = 0xC000'0000;  ///< 3 GiB
inline constexpr uint64_t kMmioGapEnd = 0x1'0000'0000;  ///< 4 GiB
inline constexpr uint64_t kIoapicAddr = 0xFEC0'0000;
inline constexpr uint64_t kLapicAddr = 0xFEE0'0000;
/// Virtio-mmio and other device windows are allocated upward from here (inside the gap).
inline constexpr uint64_t kDeviceMmioStart = 0xD000'0000;
inline constexpr uint64_t kDeviceMmioEnd = 0xFEC0'0000;

/// RAM regions for `bytes` of guest memory: one region if it fits below the gap, else two.
inline std::vector<RegionSpec> ram_regions(uint64_t bytes) {
  if (bytes <= kMmioGapStart) return {{0, bytes}};
  return {{0, kMmioGapStart}, {kMmioGapEnd, bytes - kMmioGapStart}};
}

}  // namespace minivmm::x86
