// Tests for boot/pvh_start_info: hvm_start_info, the initrd module entry and the memory map as a
// PVH vmlinux finds them at the address in rbx.
#include "boot/pvh_start_info.hpp"

#include "boot/boot_layout.hpp"
#include "boot_test_support.hpp"

namespace minivmm::boot::test {

TEST_CASE("PVH start_info has magic, version 1, cmdline, initrd module and memmap") {
  auto mem = make_memory();
  ElfBuilder b;
  b.pvh_entry = 16 * kMiB;
  auto file = b.build();
  auto initrd = pattern(0x1800, 2);
  auto r = load_linux(mem, config(file, "console=hvc0", &initrd));
  REQUIRE(r.has_value());
  CHECK(r->entry.rbx == layout::kPvhStartInfoAddr);
  auto si = read_guest<HvmStartInfo>(mem, layout::kPvhStartInfoAddr);
  CHECK(si.magic == 0x336ec578);
  CHECK(si.version == 1);
  CHECK(si.flags == 0);
  CHECK(si.cmdline_paddr == layout::kCmdlineAddr);
  CHECK(si.rsdp_paddr == 0);
  REQUIRE(si.nr_modules == 1);
  auto mod = read_guest<HvmModlistEntry>(mem, si.modlist_paddr);
  CHECK(mod.paddr == r->initrd_addr);
  CHECK(mod.size == 0x1800);
  CHECK(mod.cmdline_paddr == 0);
  REQUIRE(si.memmap_entries == 3);
  auto e0 = read_guest<HvmMemmapTableEntry>(mem, si.memmap_paddr);
  auto e1 = read_guest<HvmMemmapTableEntry>(mem, si.memmap_paddr + 24);
  auto e2 = read_guest<HvmMemmapTableEntry>(mem, si.memmap_paddr + 48);
  CHECK((e0.addr == 0 && e0.size == 0x9fc00 && e0.type == 1));
  CHECK((e1.addr == 0x9fc00 && e1.size == 0x60400 && e1.type == 2));
  CHECK((e2.addr == 0x100000 && e2.size == 63 * kMiB && e2.type == 1));
}

TEST_CASE("PVH start_info without initrd has no modules") {
  auto mem = make_memory();
  ElfBuilder b;
  b.pvh_entry = 16 * kMiB;
  auto file = b.build();
  REQUIRE(load_linux(mem, config(file)).has_value());
  auto si = read_guest<HvmStartInfo>(mem, layout::kPvhStartInfoAddr);
  CHECK(si.nr_modules == 0);
  CHECK(si.modlist_paddr == 0);
}

TEST_CASE("PVH memmap with RAM above 4 GiB lists the high region") {
  auto mem = make_memory(3072 * kMiB + 64 * kMiB);
  ElfBuilder b;
  b.pvh_entry = 16 * kMiB;
  auto file = b.build();
  REQUIRE(load_linux(mem, config(file)).has_value());
  auto si = read_guest<HvmStartInfo>(mem, layout::kPvhStartInfoAddr);
  REQUIRE(si.memmap_entries == 4);
  auto e3 = read_guest<HvmMemmapTableEntry>(mem, si.memmap_paddr + 72);
  CHECK(e3.addr == 0x1'0000'0000);
  CHECK(e3.size == 64 * kMiB);
  CHECK(e3.type == 1);
}

TEST_CASE("PVH memmap larger than its page is refused") {
  std::vector<E820Entry> map(200);
  auto page = build_pvh_start_info({0, 0, 0, map});
  REQUIRE_FALSE(page.has_value());
  CHECK(page.error().code() == make_error_code(ErrorCode::invalid_config));
}

}  // namespace minivmm::boot::test
