// Implementation of the vmlinux parser (ELF-64 Object File Format 1.5; System V gABI "Program
// Header" and "Note Section"). Every offset and size comes from the untrusted file and is checked
// with image_span.hpp helpers before use; each check is named where the value bounds a copy.
#include "boot/elf_loader.hpp"

#include <elf.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>

#include "boot/image_span.hpp"

namespace minivmm::boot {
namespace {

constexpr uint64_t kCommandLineSize = 2048;  // arch/x86/include/asm/setup.h COMMAND_LINE_SIZE
constexpr uint64_t k4GiB = 0x1'0000'0000;

Result<Elf64_Ehdr> read_ehdr(std::span<const uint8_t> file) {
  auto eh = read_at<Elf64_Ehdr>(file, 0);
  if (file.size() >= EI_NIDENT && file[EI_CLASS] == ELFCLASS32)
    return make_error(ErrorCode::invalid_image, "kernel ELF: class ELF32 is not supported");
  if (!eh)
    return make_error(ErrorCode::invalid_image, "kernel ELF: truncated ELF header ({} bytes)",
                      file.size());
  if (eh->e_ident[EI_CLASS] != ELFCLASS64)
    return make_error(ErrorCode::invalid_image, "kernel ELF: unknown class {}",
                      eh->e_ident[EI_CLASS]);
  if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
    return make_error(ErrorCode::invalid_image, "kernel ELF: not little-endian");
  if (eh->e_machine != EM_X86_64)
    return make_error(ErrorCode::invalid_image, "kernel ELF: machine {} is not x86_64",
                      eh->e_machine);
  if (eh->e_type != ET_EXEC)
    return make_error(ErrorCode::invalid_image, "kernel ELF: type {} is not ET_EXEC", eh->e_type);
  if (eh->e_phentsize != sizeof(Elf64_Phdr))
    return make_error(ErrorCode::invalid_image, "kernel ELF: e_phentsize {} is not {}",
                      eh->e_phentsize, sizeof(Elf64_Phdr));
  auto ph_bytes = checked_mul(eh->e_phnum, sizeof(Elf64_Phdr));
  if (eh->e_phnum == 0 || !ph_bytes || !in_file(file, eh->e_phoff, *ph_bytes))
    return make_error(ErrorCode::invalid_image,
                      "kernel ELF: program headers (phoff={:#x} phnum={}) outside the file",
                      eh->e_phoff, eh->e_phnum);
  return *eh;
}

/// The PVH entry from one PT_NOTE segment's bytes, if that segment holds the note.
Result<std::optional<uint32_t>> find_pvh_note(std::span<const uint8_t> notes) {
  uint64_t off = 0;
  while (notes.size() - off >= sizeof(Elf64_Nhdr)) {
    auto nh = *read_at<Elf64_Nhdr>(notes, off);
    auto name_off = off + sizeof(Elf64_Nhdr);
    auto name_len = checked_align_up(nh.n_namesz, 4);
    auto desc_len = checked_align_up(nh.n_descsz, 4);
    // Image-controlled: n_namesz/n_descsz; checked to lie inside the PT_NOTE span before reads.
    if (!name_len || !desc_len || !in_file(notes, name_off, *name_len) ||
        !in_file(notes, name_off + *name_len, *desc_len))
      return make_error(ErrorCode::invalid_image, "kernel ELF: note at {:#x} overruns PT_NOTE",
                        off);
    auto desc_off = name_off + *name_len;
    bool is_xen = nh.n_namesz == 4 && std::memcmp(notes.data() + name_off, "Xen", 4) == 0;
    if (is_xen && nh.n_type == kXenElfnotePhys32Entry) {
      // Linux emits the address with _ASM_PTR (8 bytes on x86_64); Xen documents 4 bytes.
      if (nh.n_descsz == 4) return std::optional(*read_at<uint32_t>(notes, desc_off));
      if (nh.n_descsz == 8) {
        uint64_t v = *read_at<uint64_t>(notes, desc_off);
        if (v > std::numeric_limits<uint32_t>::max())
          return make_error(ErrorCode::invalid_image, "kernel ELF: PVH entry {:#x} above 4 GiB", v);
        return std::optional(static_cast<uint32_t>(v));
      }
      return make_error(ErrorCode::invalid_image, "kernel ELF: PVH note descsz {} is not 4 or 8",
                        nh.n_descsz);
    }
    off = desc_off + *desc_len;
  }
  return std::optional<uint32_t>();
}

Result<KernelSegment> load_segment(std::span<const uint8_t> file, const Elf64_Phdr& ph,
                                   unsigned index) {
  // Image-controlled: p_offset/p_filesz; in_file() bounds the span later copied to the guest.
  if (!in_file(file, ph.p_offset, ph.p_filesz))
    return make_error(ErrorCode::invalid_image,
                      "kernel ELF: segment {} (offset={:#x} filesz={:#x}) outside the file", index,
                      ph.p_offset, ph.p_filesz);
  if (ph.p_filesz > ph.p_memsz)
    return make_error(ErrorCode::invalid_image,
                      "kernel ELF: segment {} filesz {:#x} exceeds memsz {:#x}", index, ph.p_filesz,
                      ph.p_memsz);
  if (!checked_add(ph.p_paddr, ph.p_memsz))
    return make_error(ErrorCode::invalid_image,
                      "kernel ELF: segment {} paddr={:#x} memsz={:#x} overflows", index, ph.p_paddr,
                      ph.p_memsz);
  return KernelSegment{ph.p_paddr, file.subspan(ph.p_offset, ph.p_filesz), ph.p_memsz};
}

}  // namespace

bool is_elf(std::span<const uint8_t> file) noexcept {
  return file.size() >= SELFMAG && std::memcmp(file.data(), ELFMAG, SELFMAG) == 0;
}

Result<KernelImage> parse_elf(std::span<const uint8_t> file) {
  MINIVMM_TRY(eh, read_ehdr(file));
  KernelImage img;
  img.start = std::numeric_limits<uint64_t>::max();
  std::optional<uint32_t> pvh_entry;
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    // Image-controlled: e_phoff/e_phnum; read_ehdr checked the whole table lies in the file.
    auto ph = *read_at<Elf64_Phdr>(file, eh.e_phoff + uint64_t{i} * sizeof(Elf64_Phdr));
    if (ph.p_type == PT_NOTE) {
      // Image-controlled: p_offset/p_filesz; in_file() bounds the note span.
      if (!in_file(file, ph.p_offset, ph.p_filesz))
        return make_error(ErrorCode::invalid_image, "kernel ELF: PT_NOTE {} outside the file", i);
      MINIVMM_TRY(note, find_pvh_note(file.subspan(ph.p_offset, ph.p_filesz)));
      if (note && !pvh_entry) pvh_entry = note;
    }
    if (ph.p_type != PT_LOAD) continue;
    MINIVMM_TRY(seg, load_segment(file, ph, i));
    if (seg.memsz == 0) continue;
    img.start = std::min(img.start, seg.gpa);
    img.end = std::max(img.end, seg.gpa + seg.memsz);
    img.segments.push_back(seg);
  }
  if (img.segments.empty())
    return make_error(ErrorCode::invalid_image, "kernel ELF: no loadable segment");
  img.format = pvh_entry ? KernelFormat::elf_pvh : KernelFormat::elf_64;
  img.entry = pvh_entry ? uint64_t{*pvh_entry} : eh.e_entry;
  if (img.entry < img.start || img.entry >= img.end)
    return make_error(ErrorCode::invalid_image,
                      "kernel ELF: entry {:#x} outside the loaded range [{:#x}, {:#x})", img.entry,
                      img.start, img.end);
  img.cmdline_max = kCommandLineSize;
  img.initrd_end_max = k4GiB;
  return img;
}

}  // namespace minivmm::boot
