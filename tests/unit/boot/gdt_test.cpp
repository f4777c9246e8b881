// Tests for boot/gdt: descriptor encodings against the well-known flat values and the table in
// guest memory for both entry modes.
#include "boot/gdt.hpp"

#include "boot/boot_layout.hpp"
#include "boot_test_support.hpp"

namespace minivmm::boot::test {

TEST_CASE("flat descriptors encode to the classic values") {
  CHECK(encode_descriptor(boot_code_segment(EntryMode::long64)) == 0x00af9b000000ffffull);
  CHECK(encode_descriptor(boot_code_segment(EntryMode::pvh32)) == 0x00cf9b000000ffffull);
  CHECK(encode_descriptor(boot_data_segment()) == 0x00cf93000000ffffull);
  CHECK(encode_descriptor(boot_tss_segment()) == 0x00008b0000000067ull);
}

TEST_CASE("descriptor encoding splits base and limit across their fields") {
  Segment s;
  s.base = 0x12345678;
  s.limit = 0xabcde;
  s.type = 0x3;
  s.present = true;
  s.s = true;
  CHECK(encode_descriptor(s) == 0x120a93345678bcdeull);
}

TEST_CASE("long-mode boot GDT at 0x500 has code 0x10, data 0x18 and a TSS at 0x20") {
  auto mem = make_memory();
  auto file = BzImageBuilder{}.build();
  auto r = load_linux(mem, config(file));
  REQUIRE(r.has_value());
  auto gdt = read_guest<std::array<uint64_t, 6>>(mem, layout::kGdtAddr);
  CHECK(gdt[0] == 0);
  CHECK(gdt[1] == 0);
  CHECK(gdt[2] == 0x00af9b000000ffffull);
  CHECK(gdt[3] == 0x00cf93000000ffffull);
  CHECK(gdt[4] == 0x00008b0000000067ull);
  CHECK(gdt[5] == 0);
  CHECK(r->entry.gdt_base == 0x500);
  CHECK(r->entry.gdt_limit == 47);
}

TEST_CASE("PVH boot GDT has a 32-bit code segment at 0x10") {
  auto mem = make_memory();
  ElfBuilder b;
  b.pvh_entry = 16 * kMiB;
  auto file = b.build();
  REQUIRE(load_linux(mem, config(file)).has_value());
  auto gdt = read_guest<std::array<uint64_t, 6>>(mem, layout::kGdtAddr);
  CHECK(gdt[2] == 0x00cf9b000000ffffull);
  CHECK(gdt[3] == 0x00cf93000000ffffull);
}

}  // namespace minivmm::boot::test
