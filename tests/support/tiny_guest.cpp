// Implementation of the tiny-guest ELF writer and temp files.
#include "tests/support/tiny_guest.hpp"

#include <elf.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace minivmm::test {

TempFile::TempFile(const std::vector<uint8_t>& bytes) {
  char name[] = "/tmp/minivmm-test-XXXXXX";
  int fd = ::mkstemp(name);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  m_path = name;
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
}

TempFile::~TempFile() {
  ::unlink(m_path.c_str());
}

namespace {

std::vector<uint8_t> build_elf(const uint8_t* code, size_t size, bool pvh) {
  const size_t code_off = 0x1000;  // page-aligned file offset of the segment
  std::vector<uint8_t> out(code_off + size, 0);
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_EXEC;
  eh.e_machine = EM_X86_64;
  eh.e_version = EV_CURRENT;
  eh.e_entry = kTinyGuestLoadAddr;
  eh.e_phoff = sizeof(Elf64_Ehdr);
  eh.e_ehsize = sizeof(Elf64_Ehdr);
  eh.e_phentsize = sizeof(Elf64_Phdr);
  eh.e_phnum = pvh ? 2 : 1;
  Elf64_Phdr ph{};
  ph.p_type = PT_LOAD;
  ph.p_flags = PF_R | PF_W | PF_X;
  ph.p_offset = code_off;
  ph.p_vaddr = kTinyGuestLoadAddr;
  ph.p_paddr = kTinyGuestLoadAddr;
  ph.p_filesz = size;
  ph.p_memsz = size;
  ph.p_align = 0x1000;
  std::memcpy(out.data(), &eh, sizeof eh);
  std::memcpy(out.data() + sizeof eh, &ph, sizeof ph);
  std::memcpy(out.data() + code_off, code, size);
  if (pvh) {
    // One note right after the program headers: Elf64_Nhdr, "Xen\0", the 4-byte entry, then 4
    // zero bytes inside the segment (QEMU reads the entry of a 64-bit ELF as 8 bytes).
    constexpr uint32_t kXenElfnotePhys32Entry = 18;
    const size_t note_off = sizeof eh + 2 * sizeof(Elf64_Phdr);
    Elf64_Nhdr nh{};
    nh.n_namesz = 4;
    nh.n_descsz = 4;
    nh.n_type = kXenElfnotePhys32Entry;
    const auto entry = static_cast<uint32_t>(kTinyGuestLoadAddr);
    std::memcpy(out.data() + note_off, &nh, sizeof nh);
    std::memcpy(out.data() + note_off + sizeof nh, "Xen", 4);
    std::memcpy(out.data() + note_off + sizeof nh + 4, &entry, sizeof entry);
    Elf64_Phdr note{};
    note.p_type = PT_NOTE;
    note.p_flags = PF_R;
    note.p_offset = note_off;
    note.p_filesz = sizeof nh + 4 + 8;
    note.p_memsz = note.p_filesz;
    note.p_align = 4;  // QEMU aligns the note name to p_align (0 would divide by zero)
    std::memcpy(out.data() + sizeof eh + sizeof ph, &note, sizeof note);
  }
  return out;
}

}  // namespace

std::vector<uint8_t> make_tiny_elf(const uint8_t* code, size_t size) {
  return build_elf(code, size, false);
}

std::vector<uint8_t> make_tiny_pvh_elf(const uint8_t* code, size_t size) {
  return build_elf(code, size, true);
}

}  // namespace minivmm::test
