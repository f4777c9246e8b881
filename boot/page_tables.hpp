// The identity page tables for the 64-bit entry: one PML4, one PDPT and four page directories
// mapping guest-physical 0..4 GiB with 2 MiB pages (Intel SDM vol. 3A 4.5, "4-level paging").
// It builds the bytes for [layout::kPml4Addr, layout::kPageTablesEnd); it does not set CR3 or
// write guest memory.
#pragma once

#include <cstdint>
#include <vector>

namespace minivmm::boot {

inline constexpr uint64_t kPtePresent = 1u << 0;
inline constexpr uint64_t kPteWritable = 1u << 1;
inline constexpr uint64_t kPtePageSize = 1u << 7;  ///< PS: 2 MiB page in a PDE
inline constexpr uint64_t kIdentityMapBytes = 0x1'0000'0000;

/// PML4 at offset 0, PDPT at +0x1000, PDs at +0x2000..+0x6000, as 64-bit little-endian entries.
std::vector<uint8_t> build_identity_page_tables();

}  // namespace minivmm::boot
