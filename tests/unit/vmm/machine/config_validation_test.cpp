// Unit tests of validate_config: the bounds on vcpus and memory (including values whose MiB to
// bytes conversion would overflow), a missing kernel, a console file without a path, a callback
// console without a function and a command line with a NUL byte. Every error is invalid_config
// and its message starts with the name of the field it refuses.
#include "vmm/machine/config_validation.hpp"

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>

#include <doctest/doctest.h>

namespace minivmm {
namespace {

MachineConfig valid() {
  MachineConfig c;
  c.kernel_path = "/boot/vmlinux";
  c.console.output = ConsoleConfig::Output::none;
  return c;
}

void check_refused(const MachineConfig& c, const std::string& field) {
  auto r = validate_config(c);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == ErrorCode::invalid_config);
  CHECK_MESSAGE(r.error().message().rfind(field + ":", 0) == 0, r.error().message());
}

TEST_CASE("a default configuration with a kernel is valid") {
  CHECK(validate_config(valid()).has_value());
  MachineConfig c;
  c.kernel_path = "k";
  CHECK(validate_config(c).has_value());
}

TEST_CASE("vcpus 0 is refused naming vcpus") {
  auto c = valid();
  c.vcpus = 0;
  check_refused(c, "vcpus");
}

TEST_CASE("vcpus 255 is refused naming vcpus") {
  auto c = valid();
  c.vcpus = 255;
  check_refused(c, "vcpus");
  c.vcpus = std::numeric_limits<uint32_t>::max();
  check_refused(c, "vcpus");
}

TEST_CASE("vcpus 1 and 254 are accepted") {
  auto c = valid();
  c.vcpus = 1;
  CHECK(validate_config(c).has_value());
  c.vcpus = 254;
  CHECK(validate_config(c).has_value());
  CHECK(kMaxVcpus == 254);
}

TEST_CASE("memory 0 and 1 MiB are refused naming memory") {
  auto c = valid();
  c.memory_mib = 0;
  check_refused(c, "memory");
  c.memory_mib = 1;
  check_refused(c, "memory");
}

TEST_CASE("memory 2 MiB and the maximum are accepted") {
  auto c = valid();
  c.memory_mib = 2;
  CHECK(validate_config(c).has_value());
  c.memory_mib = kMaxMemoryMib;
  CHECK(validate_config(c).has_value());
}

TEST_CASE("memory one MiB above the maximum is refused naming memory") {
  auto c = valid();
  c.memory_mib = kMaxMemoryMib + 1;
  check_refused(c, "memory");
}

TEST_CASE("memory values whose byte count overflows 64 bits are refused") {
  auto c = valid();
  for (uint64_t mib : std::initializer_list<uint64_t>{
           std::numeric_limits<uint64_t>::max(), (1ull << 44), (1ull << 44) + 2,
           std::numeric_limits<uint64_t>::max() / (1ull << 20) + 1}) {
    CAPTURE(mib);
    c.memory_mib = mib;
    check_refused(c, "memory");
  }
}

TEST_CASE("the memory maximum in bytes fits 64 bits") {
  static_assert(kMaxMemoryMib <= std::numeric_limits<uint64_t>::max() >> 20);
  CHECK((kMaxMemoryMib << 20) == (1ull << 40));
}

TEST_CASE("an empty kernel path is refused naming kernel") {
  auto c = valid();
  c.kernel_path.clear();
  check_refused(c, "kernel");
}

TEST_CASE("a file console without a path is refused naming console") {
  auto c = valid();
  c.console.output = ConsoleConfig::Output::file;
  check_refused(c, "console");
  c.console.path = "/tmp/console.log";
  CHECK(validate_config(c).has_value());
}

TEST_CASE("a callback console without a function is refused naming console") {
  auto c = valid();
  c.console.output = ConsoleConfig::Output::callback;
  check_refused(c, "console");
  c.console.on_output = [](std::string_view) {};
  CHECK(validate_config(c).has_value());
}

TEST_CASE("a command line containing a NUL byte is refused naming cmdline") {
  auto c = valid();
  c.cmdline = std::string("console=ttyS0\0init=/evil", 24);
  check_refused(c, "cmdline");
  c.cmdline = std::string(1, '\0');
  check_refused(c, "cmdline");
}

TEST_CASE("an empty command line is accepted") {
  auto c = valid();
  c.cmdline.clear();
  CHECK(validate_config(c).has_value());
}

TEST_CASE("disks: empty path, long serial, late root and duplicates are refused naming disks") {
  auto c = valid();
  c.disks = {{"", false, "", false}};
  check_refused(c, "disks[0]");
  c.disks = {{"a.img", false, std::string(21, 'x'), false}};
  check_refused(c, "disks[0].serial");
  c.disks = {{"a.img", false, "", false}, {"b.img", false, "", true}};
  check_refused(c, "disks[1].root");
  c.disks = {{"a.img", false, "", false}, {"a.img", true, "", false}};
  check_refused(c, "disks[1]");
}

TEST_CASE("disks: more than the virtio slots are refused, eight are accepted") {
  auto c = valid();
  for (int i = 0; i < 8; ++i) c.disks.push_back({"d" + std::to_string(i), false, "", false});
  CHECK(validate_config(c).has_value());
  c.disks.push_back({"d8", false, "", false});
  check_refused(c, "disks");
}

}  // namespace
}  // namespace minivmm
