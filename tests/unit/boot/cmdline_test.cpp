// Tests for boot/cmdline: the bytes written and the kernel-specific length limits.
#include "boot/cmdline.hpp"

#include "boot/boot_layout.hpp"
#include "boot_test_support.hpp"

namespace minivmm::boot::test {

TEST_CASE("command line is written NUL-terminated at the cmdline address") {
  auto mem = make_memory();
  auto file = ElfBuilder{}.build();
  REQUIRE(load_linux(mem, config(file, "console=ttyS0 panic=-1")).has_value());
  std::string want = "console=ttyS0 panic=-1";
  std::vector<uint8_t> got(want.size() + 1);
  REQUIRE(mem.read(layout::kCmdlineAddr, got));
  CHECK(std::string(got.begin(), got.end() - 1) == want);
  CHECK(got.back() == 0);
}

TEST_CASE("bzImage command line may be exactly cmdline_size bytes") {
  auto mem = make_memory();
  BzImageBuilder b;
  b.cmdline_size = 16;
  auto file = b.build();
  CHECK(load_linux(mem, config(file, std::string(16, 'x'))).has_value());
}

TEST_CASE("bzImage command line longer than cmdline_size is refused") {
  auto mem = make_memory();
  BzImageBuilder b;
  b.cmdline_size = 16;
  auto file = b.build();
  expect_refused(mem, config(file, std::string(17, 'x')), ErrorCode::invalid_config,
                 "exceeds the limit of 16 bytes");
}

TEST_CASE("vmlinux command line of 2048 bytes is refused and 2047 accepted") {
  auto mem = make_memory();
  auto file = ElfBuilder{}.build();
  expect_refused(mem, config(file, std::string(2048, 'y')), ErrorCode::invalid_config,
                 "exceeds the limit of 2047 bytes");
  CHECK(load_linux(mem, config(file, std::string(2047, 'y'))).has_value());
}

TEST_CASE("command line is capped by the loader's area even when the kernel allows more") {
  auto r = encode_cmdline(std::string(layout::kCmdlineMax, 'z'), 0x100000);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == make_error_code(ErrorCode::invalid_config));
}

TEST_CASE("command line containing a NUL byte is refused") {
  auto r = encode_cmdline(std::string("a\0b", 3), 2048);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().context().find("NUL") != std::string::npos);
}

}  // namespace minivmm::boot::test
