// Tests for boot/e820: the map built from guest memory regions and extra reserved ranges.
#include "boot/e820.hpp"

#include "boot_test_support.hpp"

namespace minivmm::boot::test {

TEST_CASE("e820 for 64 MiB is low RAM, the EBDA/BIOS hole and RAM from 1 MiB") {
  auto mem = make_memory();
  auto map = build_e820(mem, {});
  REQUIRE(map.has_value());
  std::vector<E820Entry> want{{0, 0x9fc00, E820Type::ram},
                              {0x9fc00, 0x60400, E820Type::reserved},
                              {0x100000, 63 * kMiB, E820Type::ram}};
  CHECK(*map == want);
}

TEST_CASE("e820 for memory beyond the MMIO gap adds the region at 4 GiB") {
  auto mem = make_memory(4096 * kMiB);
  auto map = build_e820(mem, {});
  REQUIRE(map.has_value());
  REQUIRE(map->size() == 4);
  CHECK((*map)[2] == E820Entry{0x100000, 0xC000'0000 - 0x100000, E820Type::ram});
  CHECK((*map)[3] == E820Entry{0x1'0000'0000, 1024 * kMiB, E820Type::ram});
}

TEST_CASE("e820 includes reserved ranges sorted by address") {
  auto mem = make_memory(4096 * kMiB);
  std::vector<ReservedRange> reserved{{0xE000'0000, 0x1000'0000}};
  auto map = build_e820(mem, reserved);
  REQUIRE(map.has_value());
  REQUIRE(map->size() == 5);
  CHECK((*map)[3] == E820Entry{0xE000'0000, 0x1000'0000, E820Type::reserved});
  CHECK((*map)[4].addr == 0x1'0000'0000);
}

TEST_CASE("e820 refuses a reserved range overlapping RAM") {
  auto mem = make_memory();
  std::vector<ReservedRange> reserved{{0x200000, 0x1000}};
  auto map = build_e820(mem, reserved);
  REQUIRE_FALSE(map.has_value());
  CHECK(map.error().code() == make_error_code(ErrorCode::invalid_config));
}

TEST_CASE("e820 refuses an empty or overflowing reserved range") {
  auto mem = make_memory();
  std::vector<ReservedRange> empty{{0xE000'0000, 0}};
  CHECK_FALSE(build_e820(mem, empty).has_value());
  std::vector<ReservedRange> wrap{{~uint64_t{0} - 0xfff, 0x2000}};
  CHECK_FALSE(build_e820(mem, wrap).has_value());
}

TEST_CASE("e820 refuses guest memory that ends below 1 MiB") {
  auto mem = GuestMemory::create(x86::ram_regions(0x80000));
  REQUIRE(mem.has_value());
  auto map = build_e820(*mem, {});
  REQUIRE_FALSE(map.has_value());
  CHECK(map.error().code() == make_error_code(ErrorCode::guest_layout));
}

}  // namespace minivmm::boot::test
