// The Xen PVH boot ABI's start-of-day structures (hvm_start_info version 1, the module list with
// the initrd as module 0, and the memory map), defined here because no Debian header carries
// them. It builds the bytes of the start_info page in a host buffer; the loader writes it at
// layout::kPvhStartInfoAddr. It does not decide where the initrd or cmdline live.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "boot/e820.hpp"
#include "vmm/sys/error.hpp"

namespace minivmm::boot {

/// xen/include/public/arch-x86/hvm/start_info.h: XEN_HVM_START_MAGIC_VALUE.
inline constexpr uint32_t kHvmStartMagic = 0x336ec578;

/// start_info.h "struct hvm_start_info" (version 1 adds memmap_paddr/memmap_entries).
struct HvmStartInfo {
  uint32_t magic;
  uint32_t version;
  uint32_t flags;
  uint32_t nr_modules;
  uint64_t modlist_paddr;
  uint64_t cmdline_paddr;
  uint64_t rsdp_paddr;
  uint64_t memmap_paddr;
  uint32_t memmap_entries;
  uint32_t reserved;
};
/// start_info.h "struct hvm_modlist_entry".
struct HvmModlistEntry {
  uint64_t paddr;
  uint64_t size;
  uint64_t cmdline_paddr;
  uint64_t reserved;
};
/// start_info.h "struct hvm_memmap_table_entry"; type uses XEN_HVM_MEMMAP_TYPE_* (= e820 types).
struct HvmMemmapTableEntry {
  uint64_t addr;
  uint64_t size;
  uint32_t type;
  uint32_t reserved;
};
static_assert(sizeof(HvmStartInfo) == 56 && sizeof(HvmModlistEntry) == 32);
static_assert(sizeof(HvmMemmapTableEntry) == 24);

struct PvhInputs {
  uint64_t cmdline_addr = 0;
  uint64_t initrd_addr = 0;
  uint64_t initrd_size = 0;  ///< 0: no module
  std::span<const E820Entry> e820;
};

/// The bytes from layout::kPvhStartInfoAddr to layout::kPvhPageEnd: start_info at offset 0, the
/// module list at kPvhModlistAddr, the memmap at kPvhMemmapAddr. Errors: invalid_config when the
/// memory map does not fit the page.
Result<std::vector<uint8_t>> build_pvh_start_info(const PvhInputs& in);

}  // namespace minivmm::boot
