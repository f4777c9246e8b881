// Tests for boot/linux_loader: format dispatch, config validation, the all-or-nothing write
// rule, and loading the real guest kernel built by guest-kernel-config/build.sh when present.
#include "boot/linux_loader.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "boot_test_support.hpp"

namespace minivmm::boot::test {
namespace {

std::vector<uint8_t> read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// The newest cached kernel directory holding `name`, if any.
std::optional<std::filesystem::path> cached_kernel(const std::string& name) {
  std::filesystem::path cache;
  if (const char* env = std::getenv("MINIVMM_CACHE"); env != nullptr && *env != '\0')
    cache = env;
  else if (const char* home = std::getenv("HOME"); home != nullptr)
    cache = std::filesystem::path(home) / ".cache/minivmm";
  std::error_code ec;
  std::optional<std::filesystem::path> best;
  for (const auto& d : std::filesystem::directory_iterator(cache, ec)) {
    auto f = d.path() / name;
    if (d.path().filename().string().rfind("kernel-", 0) == 0 && std::filesystem::exists(f) &&
        (!best || std::filesystem::last_write_time(f) > std::filesystem::last_write_time(*best)))
      best = f;
  }
  return best;
}

}  // namespace

TEST_CASE("empty kernel file is refused") {
  auto mem = make_memory();
  std::vector<uint8_t> file;
  expect_refused(mem, config(file), ErrorCode::invalid_image, "empty");
}

TEST_CASE("kernel that is neither ELF nor bzImage is refused") {
  auto mem = make_memory();
  auto file = pattern(0x1000, 5);
  expect_refused(mem, config(file), ErrorCode::invalid_image, "neither");
}

TEST_CASE("zero vcpus are refused") {
  auto mem = make_memory();
  auto file = ElfBuilder{}.build();
  expect_refused(mem, config(file, "", nullptr, 0), ErrorCode::invalid_config, "vcpus 0");
}

TEST_CASE("255 vcpus are refused") {
  auto mem = make_memory();
  auto file = ElfBuilder{}.build();
  expect_refused(mem, config(file, "", nullptr, 255), ErrorCode::invalid_config, "vcpus 255");
}

TEST_CASE("a reserved range overlapping RAM is refused before anything is written") {
  auto mem = make_memory();
  auto file = ElfBuilder{}.build();
  auto cfg = config(file);
  cfg.reserved.push_back({32 * kMiB, 0x1000});
  expect_refused(mem, cfg, ErrorCode::invalid_config, "overlaps RAM");
}

TEST_CASE("guest memory below 1 MiB is refused as too small for the boot structures") {
  auto mem = GuestMemory::create(x86::ram_regions(512 * 1024));
  REQUIRE(mem.has_value());
  ElfBuilder b;
  b.segs[0].paddr = 0x100000;
  b.entry = 0x100000;
  auto file = b.build();
  auto r = load_linux(*mem, config(file));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == make_error_code(ErrorCode::guest_layout));
  CHECK(all_zero(*mem, 0, 512 * 1024));
}

TEST_CASE("the real guest vmlinux is detected as elf_pvh and loads into 128 MiB") {
  auto path = cached_kernel("vmlinux");
  if (!path) {
    MESSAGE("no cached guest vmlinux; skipped");
    return;
  }
  auto file = read_file(*path);
  auto mem = make_memory(128 * kMiB);
  auto initrd = pattern(0x10000, 1);
  auto r = load_linux(mem, config(file, "console=ttyS0", &initrd, 2));
  if (!r) FAIL(r.error().context());
  REQUIRE(r.has_value());
  CHECK(r->format == KernelFormat::elf_pvh);
  CHECK(r->entry.mode == EntryMode::pvh32);
  CHECK(r->entry.rip >= r->kernel_start);
  CHECK(r->entry.rip < r->kernel_end);
  CHECK(r->initrd_addr >= r->kernel_end);
}

TEST_CASE("the real guest bzImage is detected as bzimage and loads into 128 MiB") {
  auto path = cached_kernel("bzImage");
  if (!path) {
    MESSAGE("no cached guest bzImage; skipped");
    return;
  }
  auto file = read_file(*path);
  auto mem = make_memory(128 * kMiB);
  auto initrd = pattern(0x10000, 1);
  auto r = load_linux(mem, config(file, "console=ttyS0", &initrd, 2));
  if (!r) FAIL(r.error().context());
  REQUIRE(r.has_value());
  CHECK(r->format == KernelFormat::bzimage);
  CHECK(r->entry.mode == EntryMode::long64);
  CHECK(r->entry.rip == r->kernel_start + 0x200);
  auto bp = read_guest<boot_params>(mem, 0x7000);
  CHECK(val(bp.hdr.header) == 0x53726448);
  CHECK(val(bp.hdr.type_of_loader) == 0xff);
}

}  // namespace minivmm::boot::test
