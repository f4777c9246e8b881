// Virtio-mmio slot policy: where the n-th virtio device's register window lives and which GSI it
// interrupts on. Windows are 4 KiB apart from kDeviceMmioStart (inside the 32-bit MMIO gap); GSIs
// are the ISA IRQs no legacy device of ours uses (COM1 has 4, the i8042 1 and 12, the PIT 0),
// then IOAPIC pins 16-23, all of which the MP table routes (boot/mp_table.hpp). Linux learns both
// from `virtio_mmio.device=` on its cmdline.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "vmm/memory/x86_layout.hpp"

namespace minivmm {

struct VirtioSlot {
  uint64_t mmio_base;
  uint64_t mmio_size;
  uint32_t gsi;
  /// The kernel parameter announcing a device of `window` bytes in this slot (virtio_mmio.c).
  std::string kernel_parameter(uint64_t window) const {
    return fmt::format("virtio_mmio.device={}@{:#x}:{}", window, mmio_base, gsi);
  }
};

inline constexpr uint64_t kVirtioSlotStride = 0x1000;
inline constexpr std::array<uint32_t, 16> kVirtioGsis = {5,  6,  7,  9,  10, 11, 14, 15,
                                                         16, 17, 18, 19, 20, 21, 22, 23};

/// The slot of the index-th virtio device, or nullopt when there are no more.
inline std::optional<VirtioSlot> virtio_slot(size_t index) {
  if (index >= kVirtioGsis.size()) return std::nullopt;
  return VirtioSlot{x86::kDeviceMmioStart + index * kVirtioSlotStride, kVirtioSlotStride,
                    kVirtioGsis[index]};
}

}  // namespace minivmm
