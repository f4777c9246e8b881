// The guest's e820 memory map, built from GuestMemory::regions(): conventional RAM up to the EBDA
// (0x9fc00), the EBDA/VGA/BIOS hole reserved up to 1 MiB, RAM from 1 MiB to the end of the first
// region, every further region as RAM, plus any reserved ranges the machine asks for. It returns
// a plain list; zero_page.hpp and pvh_start_info.hpp encode it for their protocol.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "boot/linux_loader.hpp"
#include "vmm/memory/guest_memory.hpp"
#include "vmm/sys/error.hpp"

namespace minivmm::boot {

/// ACPI 6.5 section 15.1 "Address Range Types" (the same values as e820 and Xen's
/// XEN_HVM_MEMMAP_TYPE_*).
enum class E820Type : uint32_t { ram = 1, reserved = 2 };

struct E820Entry {
  uint64_t addr = 0;
  uint64_t size = 0;
  E820Type type = E820Type::ram;
  bool operator==(const E820Entry&) const = default;
};

/// Errors: guest_layout when the first region does not start at 0 or ends below 1 MiB;
/// invalid_config when a reserved range is empty, overflows or overlaps RAM.
/// The result is sorted by address.
Result<std::vector<E820Entry>> build_e820(const GuestMemory& mem,
                                          std::span<const ReservedRange> reserved);

}  // namespace minivmm::boot
