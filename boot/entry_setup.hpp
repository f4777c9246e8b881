// The vCPU 0 entry state for each boot path: the Linux 64-bit boot protocol (long mode, paging on
// with the identity tables, rsi = zero page) and the Xen PVH ABI (32-bit protected mode, paging
// off, rbx = start_info). It fills EntryState from the GDT and layout constants; it writes
// nothing to guest memory and knows nothing of KVM.
#pragma once

#include <cstdint>

#include "boot/entry_state.hpp"

namespace minivmm::boot {

inline constexpr uint64_t kCr0Pe = 1u << 0;
inline constexpr uint64_t kCr0Et = 1u << 4;
inline constexpr uint64_t kCr0Pg = 1u << 31;
inline constexpr uint64_t kCr4Pae = 1u << 5;
inline constexpr uint64_t kEferLme = 1u << 8;
inline constexpr uint64_t kEferLma = 1u << 10;

/// boot.rst "64-bit boot protocol": CS = __BOOT_CS (0x10), DS/ES/SS = __BOOT_DS (0x18), paging
/// on with an identity map, rsi = zero page, rip = rip. cr0 = PE|ET|PG, cr4 = PAE,
/// efer = LME|LMA, cr3 = layout::kPml4Addr.
EntryState long64_entry_state(uint64_t rip) noexcept;

/// Xen pvh.pandoc "Initial state": 32-bit flat CS/DS, cr0 = PE, cr4 = 0, efer = 0,
/// rbx = layout::kPvhStartInfoAddr, rip = rip.
EntryState pvh_entry_state(uint64_t rip) noexcept;

}  // namespace minivmm::boot
