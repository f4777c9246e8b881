// load_linux: the Linux direct-boot policy. Given guest RAM, a kernel image (vmlinux ELF or
// bzImage), an optional initrd and a command line, it places the kernel, initrd, command line and
// every boot structure (zero page or PVH start_info, e820 map, MP table, GDT, identity page
// tables) in guest memory and returns the state vCPU 0 must start in. It validates everything
// first and writes nothing for malformed input. It does not create vCPUs or touch KVM.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "boot/entry_state.hpp"
#include "vmm/memory/guest_memory.hpp"
#include "vmm/sys/error.hpp"

namespace minivmm::boot {

/// A guest-physical range that is not RAM but must appear in the e820 map as reserved.
struct ReservedRange {
  uint64_t gpa;
  uint64_t size;
};

struct LinuxBootConfig {
  std::span<const uint8_t> kernel;  ///< whole kernel file (vmlinux ELF or bzImage)
  std::span<const uint8_t> initrd;  ///< whole initrd file; empty for none
  std::string cmdline;
  uint32_t vcpus = 1;  ///< described in the MP table, APIC ids 0..vcpus-1
  /// Extra e820 "reserved" ranges (outside RAM, e.g. in the MMIO gap); empty for none.
  std::vector<ReservedRange> reserved;
};

/// What kind of image was found, for logs and tests.
enum class KernelFormat { elf_pvh, elf_64, bzimage };

struct LoadedKernel {
  KernelFormat format;
  EntryState entry;
  uint64_t kernel_start = 0;  ///< lowest guest-physical byte of the kernel
  uint64_t kernel_end = 0;    ///< one past the highest
  uint64_t initrd_addr = 0;   ///< 0 when no initrd
  uint64_t initrd_size = 0;
};

/// Errors: invalid_image (truncated, wrong magic, protocol < 2.06, not 64-bit capable, segments
/// outside RAM or overlapping boot structures), guest_layout (memory too small, initrd too large),
/// invalid_config (cmdline longer than the kernel accepts, vcpus 0 or above 254).
Result<LoadedKernel> load_linux(const GuestMemory& mem, const LinuxBootConfig& cfg);

}  // namespace minivmm::boot
