// Tiny purpose-built guests for tests/kvm: x86-64 code generated with xbyak, wrapped into a
// minimal ELF64 executable (one PT_LOAD at 1 MiB, no PVH note) so minivmm's own loader starts it
// in long mode with identity paging, exactly like a vmlinux 64-bit entry (make_tiny_pvh_elf adds
// the PVH note for 32-bit entry). Only plain integer instructions belong here: this host's
// /dev/kvm (PVM) emulates guests and cannot run SSE, XSAVE or INT3 (shared/ENVIRONMENT.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <xbyak/xbyak.h>

namespace minivmm::test {

/// Guest-physical address where the tiny guest's code is loaded and entered.
inline constexpr uint64_t kTinyGuestLoadAddr = 0x100000;

/// A file under /tmp removed on destruction.
class TempFile {
 public:
  explicit TempFile(const std::vector<uint8_t>& bytes);
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return m_path; }

 private:
  std::string m_path;
};

/// An ELF64 image whose single segment holds `code` at kTinyGuestLoadAddr and whose entry point
/// is its first byte.
std::vector<uint8_t> make_tiny_elf(const uint8_t* code, size_t size);

/// The same, plus a PT_NOTE with the Xen PVH entry note (name "Xen", type
/// XEN_ELFNOTE_PHYS32_ENTRY, 4-byte address = kTinyGuestLoadAddr), so PVH loaders (minivmm's,
/// QEMU `-kernel`) enter `code` in 32-bit protected mode with paging off. Only instructions that
/// encode identically in 32- and 64-bit mode belong in such code.
std::vector<uint8_t> make_tiny_pvh_elf(const uint8_t* code, size_t size);

/// Code generator preset to emit code that will run at kTinyGuestLoadAddr.
class TinyGuestCode : public Xbyak::CodeGenerator {
 public:
  TinyGuestCode() : Xbyak::CodeGenerator(64 * 1024) {}
  std::vector<uint8_t> elf() { return make_tiny_elf(getCode(), getSize()); }
  std::vector<uint8_t> pvh_elf() { return make_tiny_pvh_elf(getCode(), getSize()); }
};

}  // namespace minivmm::test
