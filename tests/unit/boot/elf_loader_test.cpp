// Tests for boot/elf_loader: vmlinux ELF parsing, PVH note detection, segment loading, and every
// malformed-ELF refusal (each leaving guest memory untouched).
#include "boot/elf_loader.hpp"

#include "boot_test_support.hpp"

namespace minivmm::boot::test {

TEST_CASE("ELF with a 4-byte Xen PVH note is elf_pvh with the note's entry") {
  ElfBuilder b;
  b.pvh_entry = 16 * kMiB + 0x40;
  auto file = b.build();
  auto img = parse_elf(file);
  REQUIRE(img.has_value());
  CHECK(img->format == KernelFormat::elf_pvh);
  CHECK(img->entry == 16 * kMiB + 0x40);
}

TEST_CASE("ELF with an 8-byte Xen PVH note (Linux _ASM_PTR) is elf_pvh") {
  ElfBuilder b;
  b.pvh_entry = 16 * kMiB + 0x80;
  b.pvh_descsz = 8;
  auto file = b.build();
  auto img = parse_elf(file);
  REQUIRE(img.has_value());
  CHECK(img->format == KernelFormat::elf_pvh);
  CHECK(img->entry == 16 * kMiB + 0x80);
}

TEST_CASE("ELF without a PVH note is elf_64 entered at e_entry") {
  ElfBuilder b;
  auto file = b.build();
  auto img = parse_elf(file);
  REQUIRE(img.has_value());
  CHECK(img->format == KernelFormat::elf_64);
  CHECK(img->entry == b.entry);
  CHECK(img->start == 16 * kMiB);
  CHECK(img->end == 16 * kMiB + 0x5000);
  CHECK(img->cmdline_max == 2048);
}

TEST_CASE("ELF PT_LOAD segments are copied to p_paddr and zero-filled up to p_memsz") {
  auto mem = make_memory();
  ElfBuilder b;
  b.segs.push_back({20 * kMiB, pattern(0x100, 9), 0x2000});
  b.pvh_entry = 16 * kMiB;
  auto file = b.build();
  auto slice = mem.slice(16 * kMiB + 0x3000, 0x2000);
  std::fill(slice->begin(), slice->end(), uint8_t{0xaa});  // stale bytes where .bss goes
  auto r = load_linux(mem, config(file));
  REQUIRE(r.has_value());
  std::vector<uint8_t> got(0x3000);
  REQUIRE(mem.read(16 * kMiB, got));
  CHECK(got == b.segs[0].data);
  CHECK(all_zero(mem, 16 * kMiB + 0x3000, 0x2000));
  std::vector<uint8_t> got2(0x100);
  REQUIRE(mem.read(20 * kMiB, got2));
  CHECK(got2 == b.segs[1].data);
  CHECK(r->kernel_start == 16 * kMiB);
  CHECK(r->kernel_end == 20 * kMiB + 0x2000);
}

TEST_CASE("truncated ELF header is refused") {
  auto mem = make_memory();
  auto file = ElfBuilder{}.build();
  file.resize(40);
  expect_refused(mem, config(file), ErrorCode::invalid_image, "truncated ELF header");
}

TEST_CASE("ELF class 32 is refused") {
  auto mem = make_memory();
  auto file = ElfBuilder{}.build();
  file[EI_CLASS] = ELFCLASS32;
  expect_refused(mem, config(file), ErrorCode::invalid_image, "ELF32");
}

TEST_CASE("non-x86_64 ELF is refused") {
  auto mem = make_memory();
  auto file = ElfBuilder{}.build();
  poke<uint16_t>(file, offsetof(Elf64_Ehdr, e_machine), EM_AARCH64);
  expect_refused(mem, config(file), ErrorCode::invalid_image, "not x86_64");
}

TEST_CASE("big-endian ELF is refused") {
  auto mem = make_memory();
  auto file = ElfBuilder{}.build();
  file[EI_DATA] = ELFDATA2MSB;
  expect_refused(mem, config(file), ErrorCode::invalid_image, "little-endian");
}

TEST_CASE("ELF program headers outside the file are refused") {
  auto mem = make_memory();
  auto file = ElfBuilder{}.build();
  poke<uint64_t>(file, offsetof(Elf64_Ehdr, e_phoff), file.size() - 8);
  expect_refused(mem, config(file), ErrorCode::invalid_image, "program headers");
}

TEST_CASE("ELF e_phoff near 2^64 is refused without overflow") {
  auto mem = make_memory();
  auto file = ElfBuilder{}.build();
  poke<uint64_t>(file, offsetof(Elf64_Ehdr, e_phoff), ~uint64_t{0} - 10);
  expect_refused(mem, config(file), ErrorCode::invalid_image, "program headers");
}

TEST_CASE("ELF with no program headers is refused") {
  auto mem = make_memory();
  auto file = ElfBuilder{}.build();
  poke<uint16_t>(file, offsetof(Elf64_Ehdr, e_phnum), 0);
  expect_refused(mem, config(file), ErrorCode::invalid_image, "program headers");
}

TEST_CASE("ELF segment data outside the file is refused") {
  auto mem = make_memory();
  auto file = ElfBuilder{}.build();
  poke<uint64_t>(file, phdr_field(0, offsetof(Elf64_Phdr, p_filesz)), file.size());
  expect_refused(mem, config(file), ErrorCode::invalid_image, "outside the file");
}

TEST_CASE("ELF segment p_offset + p_filesz overflowing is refused") {
  auto mem = make_memory();
  auto file = ElfBuilder{}.build();
  poke<uint64_t>(file, phdr_field(0, offsetof(Elf64_Phdr, p_offset)), ~uint64_t{0} - 0xfff);
  expect_refused(mem, config(file), ErrorCode::invalid_image, "outside the file");
}

TEST_CASE("ELF segment with p_filesz > p_memsz is refused") {
  auto mem = make_memory();
  auto file = ElfBuilder{}.build();
  poke<uint64_t>(file, phdr_field(0, offsetof(Elf64_Phdr, p_memsz)), 0x10);
  expect_refused(mem, config(file), ErrorCode::invalid_image, "exceeds memsz");
}

TEST_CASE("ELF segment p_paddr + p_memsz overflowing is refused") {
  auto mem = make_memory();
  auto file = ElfBuilder{}.build();
  poke<uint64_t>(file, phdr_field(0, offsetof(Elf64_Phdr, p_paddr)), ~uint64_t{0} - 0x1000);
  expect_refused(mem, config(file), ErrorCode::invalid_image, "overflows");
}

TEST_CASE("ELF segment overlapping the boot structures below 1 MiB is refused") {
  auto mem = make_memory();
  ElfBuilder b;
  b.segs[0].paddr = 0x80000;
  b.entry = 0x80000;
  auto file = b.build();
  expect_refused(mem, config(file), ErrorCode::invalid_image, "boot structures");
}

TEST_CASE("ELF segment in the MMIO gap is refused as outside guest RAM") {
  auto mem = make_memory(4096 * kMiB);
  ElfBuilder b;
  b.segs[0].paddr = 0xD000'0000;
  b.entry = 0xD000'0000;
  auto file = b.build();
  expect_refused(mem, config(file), ErrorCode::invalid_image, "outside guest RAM");
}

TEST_CASE("ELF kernel larger than guest memory is refused as too small") {
  auto mem = make_memory(16 * kMiB);
  auto file = ElfBuilder{}.build();
  expect_refused(mem, config(file), ErrorCode::guest_layout, "does not fit");
}

TEST_CASE("ELF entry outside every loaded segment is refused") {
  auto mem = make_memory();
  ElfBuilder b;
  b.entry = 0xffffffff81000000ull;
  auto file = b.build();
  expect_refused(mem, config(file), ErrorCode::invalid_image, "entry");
}

TEST_CASE("ELF without PT_LOAD segments is refused") {
  auto mem = make_memory();
  ElfBuilder b;
  b.segs.clear();
  b.pvh_entry = 16 * kMiB;  // one PT_NOTE, no PT_LOAD
  auto file = b.build();
  expect_refused(mem, config(file), ErrorCode::invalid_image, "no loadable segment");
}

TEST_CASE("ELF PVH note with a descriptor of 2 bytes is refused") {
  auto mem = make_memory();
  ElfBuilder b;
  b.pvh_entry = 16 * kMiB;
  b.pvh_descsz = 2;
  auto file = b.build();
  expect_refused(mem, config(file), ErrorCode::invalid_image, "descsz");
}

TEST_CASE("ELF note whose name runs past its PT_NOTE segment is refused") {
  auto mem = make_memory();
  ElfBuilder b;
  b.pvh_entry = 16 * kMiB;
  auto file = b.build();
  size_t note_off = ElfBuilder::phoff() + b.phnum() * sizeof(Elf64_Phdr);
  poke<uint32_t>(file, note_off, 0xfffffffd);  // n_namesz: padding would wrap 32 bits
  expect_refused(mem, config(file), ErrorCode::invalid_image, "overruns PT_NOTE");
}

TEST_CASE("ELF PT_NOTE outside the file is refused") {
  auto mem = make_memory();
  ElfBuilder b;
  b.pvh_entry = 16 * kMiB;
  auto file = b.build();
  poke<uint64_t>(file, phdr_field(0, offsetof(Elf64_Phdr, p_offset)), ~uint64_t{0});
  expect_refused(mem, config(file), ErrorCode::invalid_image, "PT_NOTE");
}

}  // namespace minivmm::boot::test
