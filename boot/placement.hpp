// Placement policy: checks that a parsed kernel fits guest RAM without touching the loader's low
// memory (boot structures live in [0, 1 MiB), boot_layout.hpp), and chooses where the initrd goes
// (page-aligned, as high as the kernel allows below 4 GiB, never over the kernel). It only
// computes addresses; nothing here writes guest memory or parses files.
#pragma once

#include <cstdint>

#include "boot/kernel_image.hpp"
#include "vmm/memory/guest_memory.hpp"
#include "vmm/sys/error.hpp"

namespace minivmm::boot {

/// End of the RAM region starting at gpa 0 (the region the low boot structures live in).
uint64_t low_ram_end(const GuestMemory& mem) noexcept;

/// Errors: invalid_image when a segment overlaps [0, 1 MiB) (boot structures) or lies outside
/// guest RAM while RAM is large enough to hold it; guest_layout when the kernel ends above the
/// end of guest RAM (memory too small for this kernel).
Result<void> check_kernel_placement(const GuestMemory& mem, const KernelImage& img);

/// Chooses the initrd's gpa: page-aligned, the highest address with gpa+size <= min(
/// img.initrd_end_max, end of the RAM region at 0, 4 GiB) not overlapping [img.start, img.end)
/// and not below 1 MiB. size 0 gives 0. Errors: guest_layout when no such address exists.
Result<uint64_t> place_initrd(const GuestMemory& mem, const KernelImage& img, uint64_t size);

}  // namespace minivmm::boot
