// Tests for boot/entry_setup: the register state for the 64-bit and PVH entries, field by field.
#include "boot/entry_setup.hpp"

#include "boot/boot_layout.hpp"
#include "boot_test_support.hpp"

namespace minivmm::boot::test {

TEST_CASE("64-bit entry runs in long mode with paging, flat segments and rsi = zero page") {
  auto st = long64_entry_state(0x1000200);
  CHECK(st.mode == EntryMode::long64);
  CHECK(st.rip == 0x1000200);
  CHECK(st.rsi == layout::kZeroPageAddr);
  CHECK(st.rflags == 2);
  CHECK(st.cr0 == 0x80000011);
  CHECK(st.cr3 == 0x9000);
  CHECK(st.cr4 == 0x20);
  CHECK(st.efer == 0x500);
  CHECK(st.rsp == layout::kBootStackTop);
  CHECK((st.code.selector == 0x10 && st.code.type == 0xb && st.code.present && st.code.s &&
         st.code.l && !st.code.db && st.code.g && st.code.base == 0 &&
         st.code.limit == 0xffffffff && st.code.dpl == 0));
  CHECK((st.data.selector == 0x18 && st.data.type == 0x3 && st.data.present && st.data.s &&
         !st.data.l && st.data.db && st.data.g && st.data.limit == 0xffffffff));
  CHECK((st.tss.selector == 0x20 && st.tss.type == 0xb && st.tss.present && !st.tss.s &&
         st.tss.limit == 0x67 && !st.tss.g));
}

TEST_CASE("PVH entry runs in 32-bit protected mode without paging and rbx = start_info") {
  auto st = pvh_entry_state(0x1000040);
  CHECK(st.mode == EntryMode::pvh32);
  CHECK(st.rip == 0x1000040);
  CHECK(st.rbx == layout::kPvhStartInfoAddr);
  CHECK(st.cr0 == 1);
  CHECK(st.cr3 == 0);
  CHECK(st.cr4 == 0);
  CHECK(st.efer == 0);
  CHECK((st.code.selector == 0x10 && st.code.db && !st.code.l && st.code.g && st.code.s));
  CHECK((st.data.selector == 0x18 && st.data.db && st.data.type == 0x3));
  CHECK((st.tss.type == 0xb && st.tss.limit == 0x67 && st.tss.base == 0));
}

TEST_CASE("load_linux returns the PVH entry state for a PVH vmlinux") {
  auto mem = make_memory();
  ElfBuilder b;
  b.pvh_entry = 16 * kMiB + 0x40;
  auto file = b.build();
  auto r = load_linux(mem, config(file));
  REQUIRE(r.has_value());
  CHECK(r->entry.mode == EntryMode::pvh32);
  CHECK(r->entry.rip == 16 * kMiB + 0x40);
}

TEST_CASE("load_linux returns the 64-bit entry state at e_entry for a vmlinux without PVH note") {
  auto mem = make_memory();
  ElfBuilder b;
  auto file = b.build();
  auto r = load_linux(mem, config(file));
  REQUIRE(r.has_value());
  CHECK(r->entry.mode == EntryMode::long64);
  CHECK(r->entry.rip == b.entry);
  CHECK(r->entry.rsi == layout::kZeroPageAddr);
}

}  // namespace minivmm::boot::test
