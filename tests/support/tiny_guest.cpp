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

std::vector<uint8_t> make_tiny_elf(const uint8_t* code, size_t size) {
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
  eh.e_phnum = 1;
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
  return out;
}

}  // namespace minivmm::test
