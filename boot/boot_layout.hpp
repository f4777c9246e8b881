// The fixed guest-physical addresses of every boot structure load_linux writes, in one place so
// the layout can be read (and checked for overlaps) at a glance. All of them live in the first
// MiB, which load_linux reserves for itself: a kernel segment or initrd touching [0, 1 MiB) is
// refused. This file does not hold the RAM/MMIO layout (vmm/memory/x86_layout.hpp) nor the
// kernel's own load address policy (bzimage_loader / elf_loader).
#pragma once

#include <cstdint>

namespace minivmm::boot::layout {

/// GDT: 6 descriptors (null, null, code 0x10, data 0x18, 16-byte TSS 0x20).
inline constexpr uint64_t kGdtAddr = 0x500;
/// Xen PVH hvm_start_info, followed by its module list and memory map in the same page.
inline constexpr uint64_t kPvhStartInfoAddr = 0x6000;
inline constexpr uint64_t kPvhModlistAddr = 0x6100;
inline constexpr uint64_t kPvhMemmapAddr = 0x6200;
inline constexpr uint64_t kPvhPageEnd = 0x7000;
/// Linux boot protocol zero page (struct boot_params, 4 KiB).
inline constexpr uint64_t kZeroPageAddr = 0x7000;
/// Initial stack (rsp) for the entry vCPU; grows down inside 0x8000..0x9000.
inline constexpr uint64_t kBootStackTop = 0x8ff0;
/// Identity page tables: PML4, PDPT, then 4 page directories (4 GiB with 2 MiB pages).
inline constexpr uint64_t kPml4Addr = 0x9000;
inline constexpr uint64_t kPdptAddr = 0xa000;
inline constexpr uint64_t kPdAddr = 0xb000;
inline constexpr uint64_t kPageTablesEnd = 0xf000;
/// Kernel command line, NUL-terminated; at most kCmdlineMax bytes including the NUL.
inline constexpr uint64_t kCmdlineAddr = 0x20000;
inline constexpr uint64_t kCmdlineMax = 0x10000;
/// BIOS data area word holding the EBDA segment (Intel MP spec 1.4 section 4: search order).
inline constexpr uint64_t kEbdaSegmentPtr = 0x40e;
/// EBDA start: the MP floating pointer and configuration table (may extend past 0xa0000 for
/// many vCPUs; still inside the e820-reserved 0x9fc00..0x100000 range).
inline constexpr uint64_t kMpTableAddr = 0x9fc00;
/// End of conventional memory reported as RAM below 1 MiB.
inline constexpr uint64_t kEbdaStart = 0x9fc00;
/// Everything below this address belongs to the loader; kernel and initrd must stay above.
inline constexpr uint64_t kHighMemStart = 0x100000;
/// Default load address of a relocatable bzImage (before kernel_alignment rounding).
inline constexpr uint64_t kKernelLoadAddr = 0x1000000;
/// Guest page size used for initrd alignment.
inline constexpr uint64_t kPageSize = 0x1000;

static_assert(kPvhMemmapAddr < kPvhPageEnd && kPvhPageEnd <= kZeroPageAddr);
static_assert(kZeroPageAddr + 0x1000 <= kBootStackTop && kBootStackTop < kPml4Addr);
static_assert(kPageTablesEnd <= kCmdlineAddr && kCmdlineAddr + kCmdlineMax <= kMpTableAddr);

}  // namespace minivmm::boot::layout
