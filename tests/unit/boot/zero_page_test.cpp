// Tests for boot/zero_page: the boot_params written for bzImage (header copied from the file) and
// for a vmlinux without PVH note (header synthesized), and the e820 table inside it.
#include "boot/zero_page.hpp"

#include "boot/boot_layout.hpp"
#include "boot_test_support.hpp"

namespace minivmm::boot::test {

TEST_CASE("bzImage zero page carries the file's setup header with loader fields filled in") {
  auto mem = make_memory();
  BzImageBuilder b;
  auto file = b.build();
  auto initrd = pattern(0x2345, 4);
  auto r = load_linux(mem, config(file, "console=ttyS0 quiet", &initrd));
  REQUIRE(r.has_value());
  auto bp = read_guest<boot_params>(mem, layout::kZeroPageAddr);
  CHECK(val(bp.hdr.header) == 0x53726448);
  CHECK(val(bp.hdr.version) == 0x020f);
  CHECK(val(bp.hdr.kernel_version) == 0x1234);  // copied, not synthesized
  CHECK(val(bp.hdr.boot_flag) == 0xaa55);
  CHECK(val(bp.hdr.type_of_loader) == 0xff);
  CHECK((val(bp.hdr.loadflags) & LOADED_HIGH) != 0);
  CHECK(val(bp.hdr.cmd_line_ptr) == layout::kCmdlineAddr);
  CHECK(val(bp.hdr.ramdisk_image) == r->initrd_addr);
  CHECK(val(bp.hdr.ramdisk_size) == 0x2345);
  CHECK(val(bp.hdr.cmdline_size) == 255);
  CHECK(val(bp.ext_ramdisk_image) == 0);
  CHECK(val(bp.sentinel) == 0);
}

TEST_CASE("zero page e820 table lists low RAM, the EBDA hole and high RAM") {
  auto mem = make_memory();
  auto file = BzImageBuilder{}.build();
  REQUIRE(load_linux(mem, config(file)).has_value());
  auto bp = read_guest<boot_params>(mem, layout::kZeroPageAddr);
  REQUIRE(val(bp.e820_entries) == 3);
  CHECK(val(bp.e820_table[0].addr) == 0);
  CHECK(val(bp.e820_table[0].size) == 0x9fc00);
  CHECK(val(bp.e820_table[0].type) == 1);
  CHECK(val(bp.e820_table[1].addr) == 0x9fc00);
  CHECK(val(bp.e820_table[1].size) == 0x100000 - 0x9fc00);
  CHECK(val(bp.e820_table[1].type) == 2);
  CHECK(val(bp.e820_table[2].addr) == 0x100000);
  CHECK(val(bp.e820_table[2].size) == 64 * kMiB - 0x100000);
  CHECK(val(bp.e820_table[2].type) == 1);
}

TEST_CASE("vmlinux without PVH note gets a synthesized 2.12 setup header") {
  auto mem = make_memory();
  auto file = ElfBuilder{}.build();
  auto r = load_linux(mem, config(file, "root=/dev/vda"));
  REQUIRE(r.has_value());
  CHECK(r->format == KernelFormat::elf_64);
  auto bp = read_guest<boot_params>(mem, layout::kZeroPageAddr);
  CHECK(val(bp.hdr.boot_flag) == 0xaa55);
  CHECK(val(bp.hdr.header) == 0x53726448);
  CHECK(val(bp.hdr.version) == 0x020c);
  CHECK(val(bp.hdr.type_of_loader) == 0xff);
  CHECK(val(bp.hdr.kernel_alignment) == 0x1000000);
  CHECK(val(bp.hdr.cmd_line_ptr) == layout::kCmdlineAddr);
  CHECK(val(bp.hdr.cmdline_size) == 13);  // strlen, as Firecracker fills it
  CHECK(val(bp.hdr.ramdisk_image) == 0);
  CHECK(val(bp.hdr.ramdisk_size) == 0);
  CHECK(val(bp.e820_entries) == 3);
}

TEST_CASE("zero page with more e820 entries than the table holds is refused") {
  std::vector<E820Entry> map(E820_MAX_ENTRIES_ZEROPAGE + 1);
  ZeroPageInputs in;
  in.e820 = map;
  auto zp = build_zero_page(in);
  REQUIRE_FALSE(zp.has_value());
  CHECK(zp.error().code() == make_error_code(ErrorCode::invalid_config));
}

TEST_CASE("PVH boots write no zero page") {
  auto mem = make_memory();
  ElfBuilder b;
  b.pvh_entry = 16 * kMiB;
  auto file = b.build();
  REQUIRE(load_linux(mem, config(file)).has_value());
  CHECK(all_zero(mem, layout::kZeroPageAddr, 0x1000));
}

}  // namespace minivmm::boot::test
