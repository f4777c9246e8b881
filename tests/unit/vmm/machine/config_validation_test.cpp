// Unit tests of validate_config: the bounds on vcpus and memory (including values whose MiB to
// bytes conversion would overflow), a missing kernel, a console file without a path, a callback
// console without a function and a command line with a NUL byte, disk ids, vsock socket clashes,
// and validate_paths on real temporary files (missing kernel, a directory as a disk). Every error
// is invalid_config (or the stat errno for paths) and its message starts with the field's name.
#include "vmm/machine/config_validation.hpp"

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

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

TEST_CASE("memory 0 and 1 MiB are refused naming memory_mib") {
  auto c = valid();
  c.memory_mib = 0;
  check_refused(c, "memory_mib");
  c.memory_mib = 1;
  check_refused(c, "memory_mib");
}

TEST_CASE("memory 2 MiB and the maximum are accepted") {
  auto c = valid();
  c.memory_mib = 2;
  CHECK(validate_config(c).has_value());
  c.memory_mib = kMaxMemoryMib;
  CHECK(validate_config(c).has_value());
}

TEST_CASE("memory one MiB above the maximum is refused naming memory_mib") {
  auto c = valid();
  c.memory_mib = kMaxMemoryMib + 1;
  check_refused(c, "memory_mib");
}

TEST_CASE("memory values whose byte count overflows 64 bits are refused") {
  auto c = valid();
  for (uint64_t mib : std::initializer_list<uint64_t>{
           std::numeric_limits<uint64_t>::max(), (1ull << 44), (1ull << 44) + 2,
           std::numeric_limits<uint64_t>::max() / (1ull << 20) + 1}) {
    CAPTURE(mib);
    c.memory_mib = mib;
    check_refused(c, "memory_mib");
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
  c.disks = {{"", "", false, "", false}};
  check_refused(c, "disks[0]");
  c.disks = {{"", "a.img", false, std::string(21, 'x'), false}};
  check_refused(c, "disks[0].serial");
  c.disks = {{"", "a.img", false, "", false}, {"", "b.img", false, "", true}};
  check_refused(c, "disks[1].root");
  c.disks = {{"", "a.img", false, "", false}, {"", "a.img", true, "", false}};
  check_refused(c, "disks[1]");
}

TEST_CASE("devices: more than the 16 virtio slots are refused, sixteen are accepted") {
  auto c = valid();
  for (int i = 0; i < 12; ++i) c.disks.push_back({"", "d" + std::to_string(i), false, "", false});
  for (int i = 0; i < 3; ++i) c.nets.push_back({"tap" + std::to_string(i), -1, {}, 1500});
  c.vsock = VsockConfig{3, "/tmp/v.sock"};
  CHECK(validate_config(c).has_value());
  c.fs.push_back({"share", "/tmp/fs.sock", false});
  check_refused(c, "devices");
}

TEST_CASE("nets: missing tap, long name, small mtu, multicast mac and duplicates are refused") {
  auto c = valid();
  c.nets = {{"", -1, {}, 1500}};
  check_refused(c, "nets[0]");
  c.nets = {{"", 7, {}, 1500}};
  CHECK(validate_config(c).has_value());
  c.nets = {{std::string(16, 't'), -1, {}, 1500}};
  check_refused(c, "nets[0].tap_name");
  c.nets = {{"tap0", -1, {}, 67}};
  check_refused(c, "nets[0].mtu");
  c.nets = {{"tap0", -1, std::array<uint8_t, 6>{1, 2, 3, 4, 5, 6}, 1500}};
  check_refused(c, "nets[0].mac");
  c.nets = {{"tap0", -1, std::array<uint8_t, 6>{}, 1500}};
  check_refused(c, "nets[0].mac");
  c.nets = {{"tap0", -1, {}, 1500}, {"tap0", -1, {}, 1500}};
  check_refused(c, "nets[1]");
  std::array<uint8_t, 6> mac{2, 0, 0, 0, 0, 1};
  c.nets = {{"tap0", -1, mac, 1500}, {"tap1", -1, mac, 1500}};
  check_refused(c, "nets[1].mac");
}

TEST_CASE("vsock: reserved CIDs and an empty socket path are refused") {
  auto c = valid();
  for (uint64_t cid : {0ull, 1ull, 2ull, 0xFFFFFFFFull, 1ull << 40}) {
    c.vsock = VsockConfig{cid, "/tmp/v.sock"};
    check_refused(c, "vsock.guest_cid");
  }
  c.vsock = VsockConfig{3, ""};
  check_refused(c, "vsock.uds_path");
  c.vsock = VsockConfig{0xFFFFFFFEull, "/tmp/v.sock"};
  CHECK(validate_config(c).has_value());
}

TEST_CASE("fs and shares: bad tags, duplicate tags, missing paths and two roots are refused") {
  auto c = valid();
  c.fs = {{"", "/s", false}};
  check_refused(c, "fs[0].tag");
  c.fs = {{std::string(37, 'x'), "/s", false}};
  check_refused(c, "fs[0].tag");
  c.fs = {{std::string(36, 'x'), "/s", false}};
  CHECK(validate_config(c).has_value());
  c.fs = {{"a", "", false}};
  check_refused(c, "fs[0].socket_path");
  c.fs = {{"a", "/s", false}};
  c.shares = {{"a", "/dir", false, false, "/usr/lib/qemu/virtiofsd"}};
  check_refused(c, "shares[0].tag");
  c.shares = {{"b", "", false, false, "/usr/lib/qemu/virtiofsd"}};
  check_refused(c, "shares[0].dir");
  c.shares = {{"b", "/dir", false, true, "/usr/lib/qemu/virtiofsd"}};
  CHECK(validate_config(c).has_value());
  c.fs[0].root = true;
  check_refused(c, "root");
  c.fs[0].root = false;
  c.disks = {{"", "a.img", false, "", true}};
  check_refused(c, "root");
}

TEST_CASE("disks: ids default to vda, vdb...; explicit ids are checked and must be unique") {
  CHECK(disk_id(DiskConfig{}, 0) == "vda");
  CHECK(disk_id(DiskConfig{}, 1) == "vdb");
  CHECK(disk_id(DiskConfig{}, 25) == "vdz");
  CHECK(disk_id(DiskConfig{"data", "a.img", false, "", false}, 3) == "data");
  auto c = valid();
  c.disks = {{"root-fs_1.0", "a.img", false, "", false}, {"", "b.img", false, "", false}};
  CHECK(validate_config(c).has_value());
  c.disks = {{"bad id", "a.img", false, "", false}};
  check_refused(c, "disks[0].id");
  c.disks = {{"a/b", "a.img", false, "", false}};
  check_refused(c, "disks[0].id");
  c.disks = {{std::string(33, 'x'), "a.img", false, "", false}};
  check_refused(c, "disks[0].id");
  c.disks = {{std::string(32, 'x'), "a.img", false, "", false}};
  CHECK(validate_config(c).has_value());
  c.disks = {{"x", "a.img", false, "", false}, {"x", "b.img", false, "", false}};
  check_refused(c, "disks[1].id");
  // An explicit id may not take the default name of a later disk.
  c.disks = {{"vdb", "a.img", false, "", false}, {"", "b.img", false, "", false}};
  check_refused(c, "disks[1].id");
}

TEST_CASE("vsock: a socket path shared with a vhost-user backend or too long is refused") {
  auto c = valid();
  c.fs = {{"share", "/tmp/x.sock", false}};
  c.vsock = VsockConfig{3, "/tmp/x.sock"};
  check_refused(c, "vsock.uds_path");
  c.vsock = VsockConfig{3, "/tmp/" + std::string(kMaxVsockPath, 'v')};
  check_refused(c, "vsock.uds_path");
  c.vsock = VsockConfig{3, "/tmp/v.sock"};
  CHECK(validate_config(c).has_value());
}

// A scratch directory with a kernel file, a disk file and a subdirectory.
struct PathFixture {
  std::filesystem::path dir;
  PathFixture() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "validate-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
    touch("vmlinux");
    touch("disk.img");
    std::filesystem::create_directory(dir / "subdir");
  }
  ~PathFixture() { std::filesystem::remove_all(dir); }
  void touch(const char* name) {
    int fd = ::open((dir / name).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    ::close(fd);
  }
  std::string at(const char* name) const { return (dir / name).string(); }
  MachineConfig config() const {
    MachineConfig c = valid();
    c.kernel_path = at("vmlinux");
    return c;
  }
};

void check_path_refused(const MachineConfig& c, const std::string& field, std::error_code code) {
  auto r = validate_paths(c);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == code);
  CHECK_MESSAGE(r.error().message().rfind(field + ":", 0) == 0, r.error().message());
}

TEST_CASE("validate_paths: existing kernel, initrd, disk and share directory are accepted") {
  PathFixture f;
  auto c = f.config();
  c.initrd_path = f.at("disk.img");
  c.disks = {{"", f.at("disk.img"), false, "", false}};
  c.shares = {{"s", f.at("subdir"), false, false, "/usr/lib/qemu/virtiofsd"}};
  CHECK(validate_paths(c).has_value());
}

TEST_CASE("validate_paths: a kernel that does not exist or is a directory is refused") {
  PathFixture f;
  auto c = f.config();
  c.kernel_path = f.at("missing");
  check_path_refused(c, "kernel", std::error_code(ENOENT, std::system_category()));
  c.kernel_path = f.at("subdir");
  check_path_refused(c, "kernel", ErrorCode::invalid_config);
}

TEST_CASE("validate_paths: a missing initrd, a missing disk and a directory disk are refused") {
  PathFixture f;
  auto c = f.config();
  c.initrd_path = f.at("missing");
  check_path_refused(c, "initrd", std::error_code(ENOENT, std::system_category()));
  c.initrd_path.clear();
  c.disks = {{"", f.at("disk.img"), false, "", false}, {"", f.at("missing"), false, "", false}};
  check_path_refused(c, "disks[1].path", std::error_code(ENOENT, std::system_category()));
  c.disks = {{"", f.at("subdir"), false, "", false}};
  check_path_refused(c, "disks[0].path", ErrorCode::invalid_config);
}

TEST_CASE("validate_paths: a share whose dir is a file or missing is refused") {
  PathFixture f;
  auto c = f.config();
  c.shares = {{"s", f.at("disk.img"), false, false, "/usr/lib/qemu/virtiofsd"}};
  check_path_refused(c, "shares[0].dir", ErrorCode::invalid_config);
  c.shares = {{"s", f.at("missing"), false, false, "/usr/lib/qemu/virtiofsd"}};
  check_path_refused(c, "shares[0].dir", std::error_code(ENOENT, std::system_category()));
}

}  // namespace
}  // namespace minivmm
