// The boot GDT and the segment registers that match it: null descriptors at 0x00 and 0x08, a flat
// code segment at 0x10 (__BOOT_CS; 64-bit for the long-mode entry, 32-bit for PVH), a flat data
// segment at 0x18 (__BOOT_DS), and a TSS at 0x20 (16-byte system descriptor). It encodes
// descriptors (Intel SDM vol. 3A 3.4.5 and 7.2.3) from the same Segment values handed to KVM, so
// the cached and in-memory views agree. It does not set control registers (entry_setup.hpp).
#pragma once

#include <array>
#include <cstdint>

#include "boot/entry_state.hpp"

namespace minivmm::boot {

inline constexpr uint16_t kBootCsSelector = 0x10;
inline constexpr uint16_t kBootDsSelector = 0x18;
inline constexpr uint16_t kBootTssSelector = 0x20;
inline constexpr uint64_t kGdtEntries = 6;  ///< the TSS takes slots 4 and 5

/// Flat 4 GiB code segment: 64-bit (L=1, D=0) for long64, 32-bit (D=1) for pvh32.
Segment boot_code_segment(EntryMode mode) noexcept;
/// Flat 4 GiB read/write data segment (both modes).
Segment boot_data_segment() noexcept;
/// Busy TSS with base 0 and limit 0x67 (pvh.pandoc: "TR: 32-bit TSS (active), base 0, limit 0x67").
Segment boot_tss_segment() noexcept;

/// The low 8 bytes of a descriptor for seg (limit scaled down by 4 KiB when g is set).
uint64_t encode_descriptor(const Segment& seg) noexcept;

/// The whole table for mode; slot 5 holds the TSS base bits 63:32 (zero).
std::array<uint64_t, kGdtEntries> build_gdt(EntryMode mode) noexcept;

}  // namespace minivmm::boot
