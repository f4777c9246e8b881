// Tests for boot/bzimage_loader: header checks, load address and entry, payload copy, and every
// malformed-bzImage refusal (each leaving guest memory untouched).
#include "boot/bzimage_loader.hpp"

#include "boot_test_support.hpp"

namespace minivmm::boot::test {

TEST_CASE("bzImage loads its protected-mode kernel at 16 MiB with entry +0x200") {
  auto mem = make_memory();
  BzImageBuilder b;
  auto file = b.build();
  auto r = load_linux(mem, config(file));
  REQUIRE(r.has_value());
  CHECK(r->format == KernelFormat::bzimage);
  CHECK(r->entry.rip == 16 * kMiB + 0x200);
  CHECK(r->kernel_start == 16 * kMiB);
  CHECK(r->kernel_end == 16 * kMiB + b.init_size);  // init_size > payload
  std::vector<uint8_t> got(b.payload.size());
  REQUIRE(mem.read(16 * kMiB, got));
  CHECK(got == b.payload);
}

TEST_CASE("bzImage setup_sects 0 means 4") {
  BzImageBuilder b;
  b.setup_sects = 0;
  auto file = b.build();
  CHECK(file.size() == 5 * 512 + b.payload.size());
  auto img = parse_bzimage(file);
  REQUIRE(img.has_value());
  CHECK(img->segments[0].data.data() == file.data() + 5 * 512);
}

TEST_CASE("bzImage load address is rounded up to kernel_alignment") {
  BzImageBuilder b;
  b.kernel_alignment = 0x4000000;  // 64 MiB
  auto file = b.build();
  auto img = parse_bzimage(file);
  REQUIRE(img.has_value());
  CHECK(img->start == 0x4000000);
  CHECK(img->entry == 0x4000200);
}

TEST_CASE("non-relocatable bzImage loads at pref_address") {
  BzImageBuilder b;
  b.relocatable = 0;
  b.pref_address = 0x2000000;
  auto file = b.build();
  auto img = parse_bzimage(file);
  REQUIRE(img.has_value());
  CHECK(img->start == 0x2000000);
}

TEST_CASE("bzImage limits come from cmdline_size and initrd_addr_max") {
  BzImageBuilder b;
  b.cmdline_size = 100;
  b.initrd_addr_max = 0x37ffffff;
  auto file = b.build();
  auto img = parse_bzimage(file);
  REQUIRE(img.has_value());
  CHECK(img->cmdline_max == 101);
  CHECK(img->initrd_end_max == 0x38000000);
}

TEST_CASE("bzImage with protocol 2.05 is refused") {
  auto mem = make_memory();
  BzImageBuilder b;
  b.version = 0x0205;
  auto file = b.build();
  expect_refused(mem, config(file), ErrorCode::invalid_image, "2.05 is older than 2.06");
}

TEST_CASE("bzImage without XLF_KERNEL_64 is refused") {
  auto mem = make_memory();
  BzImageBuilder b;
  b.xloadflags = 0;
  auto file = b.build();
  expect_refused(mem, config(file), ErrorCode::invalid_image, "XLF_KERNEL_64");
}

TEST_CASE("bzImage whose setup_sects point past the file is refused") {
  auto mem = make_memory();
  BzImageBuilder b;
  auto file = b.build();
  file[0x1f1] = 200;  // setup_sects: 201 sectors is past the 0x4a00-byte file
  expect_refused(mem, config(file), ErrorCode::invalid_image, "past the file end");
}

TEST_CASE("bzImage truncated inside the setup header is refused") {
  auto mem = make_memory();
  auto file = BzImageBuilder{}.build();
  file.resize(0x210);
  expect_refused(mem, config(file), ErrorCode::invalid_image, "truncated setup header");
}

TEST_CASE("bzImage with a protected-mode kernel too short for the 64-bit entry is refused") {
  auto mem = make_memory();
  BzImageBuilder b;
  b.payload.resize(0x100);
  auto file = b.build();
  expect_refused(mem, config(file), ErrorCode::invalid_image, "no 64-bit entry");
}

TEST_CASE("relocatable bzImage with a non-power-of-two kernel_alignment is refused") {
  auto mem = make_memory();
  BzImageBuilder b;
  b.kernel_alignment = 0x300000;
  auto file = b.build();
  expect_refused(mem, config(file), ErrorCode::invalid_image, "kernel_alignment");
}

TEST_CASE("non-relocatable bzImage with pref_address near 2^64 is refused") {
  auto mem = make_memory();
  BzImageBuilder b;
  b.relocatable = 0;
  b.pref_address = ~uint64_t{0} - 0x1000;
  auto file = b.build();
  expect_refused(mem, config(file), ErrorCode::invalid_image, "does not fit below 4 GiB");
}

TEST_CASE("bzImage whose init_size exceeds guest memory is refused as memory too small") {
  auto mem = make_memory(32 * kMiB);
  BzImageBuilder b;
  b.init_size = 20 * kMiB;
  auto file = b.build();
  expect_refused(mem, config(file), ErrorCode::guest_layout, "does not fit");
}

TEST_CASE(
    "non-relocatable bzImage preferring an address below 1 MiB is refused as overlapping boot "
    "structures") {
  auto mem = make_memory();
  BzImageBuilder b;
  b.relocatable = 0;
  b.pref_address = 0x80000;
  auto file = b.build();
  expect_refused(mem, config(file), ErrorCode::invalid_image, "boot structures");
}

}  // namespace minivmm::boot::test
