// Tests for boot/placement: where the initrd goes and when it (or the kernel) cannot fit.
#include "boot/placement.hpp"

#include "boot_test_support.hpp"

namespace minivmm::boot::test {

TEST_CASE("initrd goes page-aligned at the top of RAM and its bytes are copied") {
  auto mem = make_memory();
  auto file = BzImageBuilder{}.build();
  auto initrd = pattern(0x1801, 6);
  auto r = load_linux(mem, config(file, "", &initrd));
  REQUIRE(r.has_value());
  CHECK(r->initrd_addr == 64 * kMiB - 0x2000);
  CHECK(r->initrd_size == 0x1801);
  std::vector<uint8_t> got(initrd.size());
  REQUIRE(mem.read(r->initrd_addr, got));
  CHECK(got == initrd);
}

TEST_CASE("initrd stays below the bzImage's initrd_addr_max") {
  auto mem = make_memory();
  BzImageBuilder b;
  b.initrd_addr_max = 48 * kMiB - 1;
  auto file = b.build();
  auto initrd = pattern(0x3000, 6);
  auto r = load_linux(mem, config(file, "", &initrd));
  REQUIRE(r.has_value());
  CHECK(r->initrd_addr == 48 * kMiB - 0x3000);
}

TEST_CASE("initrd goes below the kernel when the space above it is too small") {
  auto mem = make_memory(32 * kMiB);
  BzImageBuilder b;
  b.init_size = 15 * kMiB;  // kernel occupies 16..31 MiB
  auto file = b.build();
  auto initrd = pattern(2 * kMiB, 6);
  auto r = load_linux(mem, config(file, "", &initrd));
  REQUIRE(r.has_value());
  CHECK(r->initrd_addr == 14 * kMiB);
}

TEST_CASE("initrd above 4 GiB is never chosen") {
  auto mem = make_memory(4096 * kMiB);
  ElfBuilder b;
  auto file = b.build();
  KernelImage img;
  img.start = 16 * kMiB;
  img.end = 20 * kMiB;
  img.initrd_end_max = ~uint64_t{0};
  auto gpa = place_initrd(mem, img, 0x1000);
  REQUIRE(gpa.has_value());
  CHECK(*gpa == 0xC000'0000 - 0x1000);
}

TEST_CASE("initrd too large for guest memory is refused") {
  auto mem = make_memory();
  auto file = BzImageBuilder{}.build();
  std::vector<uint8_t> initrd(60 * kMiB, 1);
  expect_refused(mem, config(file, "", &initrd), ErrorCode::guest_layout, "initrd");
}

TEST_CASE("no initrd gives address 0") {
  auto mem = make_memory();
  KernelImage img;
  img.start = 16 * kMiB;
  img.end = 20 * kMiB;
  img.initrd_end_max = ~uint64_t{0};
  auto gpa = place_initrd(mem, img, 0);
  REQUIRE(gpa.has_value());
  CHECK(*gpa == 0);
}

}  // namespace minivmm::boot::test
