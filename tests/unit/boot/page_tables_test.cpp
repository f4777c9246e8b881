// Tests for boot/page_tables: the identity map of 0..4 GiB with 2 MiB pages in guest memory.
#include "boot/page_tables.hpp"

#include "boot/boot_layout.hpp"
#include "boot_test_support.hpp"

namespace minivmm::boot::test {

TEST_CASE("64-bit boots write an identity map of the first 4 GiB with 2 MiB pages") {
  auto mem = make_memory();
  auto file = BzImageBuilder{}.build();
  auto r = load_linux(mem, config(file));
  REQUIRE(r.has_value());
  CHECK(r->entry.cr3 == layout::kPml4Addr);
  CHECK(read_guest<uint64_t>(mem, 0x9000) == (0xa000 | 3));
  CHECK(read_guest<uint64_t>(mem, 0x9008) == 0);
  for (uint64_t i = 0; i < 4; ++i)
    CHECK(read_guest<uint64_t>(mem, 0xa000 + i * 8) == ((0xb000 + i * 0x1000) | 3));
  CHECK(read_guest<uint64_t>(mem, 0xa020) == 0);
  CHECK(read_guest<uint64_t>(mem, 0xb000) == 0x83);
  CHECK(read_guest<uint64_t>(mem, 0xb008) == (0x200000 | 0x83));
  CHECK(read_guest<uint64_t>(mem, 0xc000) == (0x4000'0000 | 0x83));
  CHECK(read_guest<uint64_t>(mem, 0xeff8) == (0xFFE0'0000 | 0x83));
}

TEST_CASE("identity page tables map every 2 MiB page of 4 GiB exactly once") {
  auto bytes = build_identity_page_tables();
  REQUIRE(bytes.size() == 6 * 0x1000);
  for (uint64_t page = 0; page < 2048; ++page) {
    uint64_t e = 0;
    std::memcpy(&e, bytes.data() + 0x2000 + page * 8, 8);
    CHECK(e == ((page << 21) | kPtePresent | kPteWritable | kPtePageSize));
  }
}

TEST_CASE("PVH boots write no page tables") {
  auto mem = make_memory();
  ElfBuilder b;
  b.pvh_entry = 16 * kMiB;
  auto file = b.build();
  auto r = load_linux(mem, config(file));
  REQUIRE(r.has_value());
  CHECK(r->entry.cr3 == 0);
  CHECK(all_zero(mem, layout::kPml4Addr, layout::kPageTablesEnd - layout::kPml4Addr));
}

}  // namespace minivmm::boot::test
