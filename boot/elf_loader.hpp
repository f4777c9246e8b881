// The vmlinux (ELF64, x86_64) parser: validates the ELF and program headers against the file,
// collects PT_LOAD segments by p_paddr, and looks for the Xen PVH entry note
// (XEN_ELFNOTE_PHYS32_ENTRY) in PT_NOTE segments. It reads only the file: guest RAM bounds and
// overlap with boot structures are checked by placement.hpp, and nothing is written here.
#pragma once

#include <cstdint>
#include <span>

#include "boot/kernel_image.hpp"
#include "vmm/sys/error.hpp"

namespace minivmm::boot {

/// Xen public/elfnote.h: the 32-bit physical PVH entry point, in a note named "Xen".
inline constexpr uint32_t kXenElfnotePhys32Entry = 18;

/// True when the file starts with the ELF magic (any class or machine).
bool is_elf(std::span<const uint8_t> file) noexcept;

/// Parses a vmlinux. format is elf_pvh when the PVH note is present (entry = the note's 32-bit
/// address), else elf_64 (entry = e_entry, which for x86_64 vmlinux is phys_startup_64, a
/// physical address: arch/x86/kernel/vmlinux.lds.S ENTRY(phys_startup_64)).
/// cmdline_max is 2048 (x86 COMMAND_LINE_SIZE); initrd_end_max is 4 GiB.
/// Errors: invalid_image for anything not a well-formed little-endian ELF64 x86_64 executable
/// whose headers, segments and notes lie inside the file without overflow.
Result<KernelImage> parse_elf(std::span<const uint8_t> file);

}  // namespace minivmm::boot
