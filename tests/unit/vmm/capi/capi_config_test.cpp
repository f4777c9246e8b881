// Unit tests of the C configuration builder (vmm/capi/capi_config.cpp, capi_devices.cpp): every
// setter lands in the MachineConfig it wraps, the C callbacks are called with the C++ events'
// values, NULL handles and arguments and values without a C++ form are refused by the setter
// naming the field and changing nothing, and the JSON form reports unknown keys by name.
#include <cerrno>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <minivmm/minivmm.h>

#include "vmm/capi/capi_call.hpp"

namespace {

using Output = minivmm::ConsoleConfig::Output;

struct ConfigFixture {
  ConfigFixture() { REQUIRE(minivmm_config_new(&c) == 0); }
  ~ConfigFixture() { minivmm_config_free(c); }
  minivmm::MachineConfig& cfg() { return c->config; }
  minivmm_config* c = nullptr;
};

std::string last_error() {
  return minivmm_last_error();
}

TEST_CASE_FIXTURE(ConfigFixture, "C API: a new config holds MachineConfig's defaults") {
  minivmm::MachineConfig defaults;
  CHECK(cfg().vcpus == defaults.vcpus);
  CHECK(cfg().memory_mib == defaults.memory_mib);
  CHECK(cfg().cmdline == defaults.cmdline);
  CHECK(cfg().console.output == Output::stdio);
}

TEST_CASE_FIXTURE(ConfigFixture, "C API: scalar setters store their values") {
  CHECK(minivmm_config_set_vcpus(c, 4) == 0);
  CHECK(minivmm_config_set_memory_mib(c, 512) == 0);
  CHECK(minivmm_config_set_kernel(c, "/k/vmlinux") == 0);
  CHECK(minivmm_config_set_initrd(c, "/k/initrd") == 0);
  CHECK(minivmm_config_set_cmdline(c, "console=ttyS0 quiet") == 0);
  CHECK(minivmm_config_set_console(c, MINIVMM_CONSOLE_FILE, "/tmp/console.log") == 0);
  CHECK(minivmm_config_set_console_stdin(c, 1) == 0);
  CHECK(cfg().vcpus == 4);
  CHECK(cfg().memory_mib == 512);
  CHECK(cfg().kernel_path == "/k/vmlinux");
  CHECK(cfg().initrd_path == "/k/initrd");
  CHECK(cfg().cmdline == "console=ttyS0 quiet");
  CHECK(cfg().console.output == Output::file);
  CHECK(cfg().console.path == "/tmp/console.log");
  CHECK(cfg().console.stdin_input);

  CHECK(minivmm_config_set_initrd(c, nullptr) == 0);
  CHECK(cfg().initrd_path.empty());
  CHECK(minivmm_config_set_console(c, MINIVMM_CONSOLE_NONE, "ignored") == 0);
  CHECK(cfg().console.output == Output::none);
  CHECK(cfg().console.path.empty());
}

TEST_CASE_FIXTURE(ConfigFixture, "C API: device setters append the C++ device configs") {
  const uint8_t mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
  CHECK(minivmm_config_add_disk(c, "root", "/img/root", MINIVMM_ROOT, nullptr) == 0);
  CHECK(minivmm_config_add_disk(c, nullptr, "/img/ro", MINIVMM_READ_ONLY, "ser-1") == 0);
  CHECK(minivmm_config_add_net(c, "tap7", -1, mac, 9000) == 0);
  CHECK(minivmm_config_add_net(c, nullptr, 5, nullptr, 0) == 0);
  CHECK(minivmm_config_set_vsock(c, 42, "/run/v.sock") == 0);
  CHECK(minivmm_config_add_fs(c, "ext", "/run/fs.sock", 0) == 0);
  CHECK(minivmm_config_add_share(c, "data", "/srv", MINIVMM_READ_ONLY, nullptr) == 0);
  CHECK(minivmm_config_add_share(c, "root", "/rootfs", MINIVMM_ROOT, "/opt/virtiofsd") == 0);

  REQUIRE(cfg().disks.size() == 2);
  CHECK(cfg().disks[0].id == "root");
  CHECK(cfg().disks[0].root);
  CHECK_FALSE(cfg().disks[0].read_only);
  CHECK(cfg().disks[1].id.empty());
  CHECK(cfg().disks[1].read_only);
  CHECK(cfg().disks[1].serial == "ser-1");
  REQUIRE(cfg().nets.size() == 2);
  CHECK(cfg().nets[0].tap_name == "tap7");
  CHECK(cfg().nets[0].tap_fd == -1);
  REQUIRE(cfg().nets[0].mac.has_value());
  CHECK((*cfg().nets[0].mac)[5] == 0x55);
  CHECK(cfg().nets[0].mtu == 9000);
  CHECK(cfg().nets[1].tap_fd == 5);
  CHECK_FALSE(cfg().nets[1].mac.has_value());
  CHECK(cfg().nets[1].mtu == 1500);
  REQUIRE(cfg().vsock.has_value());
  CHECK(cfg().vsock->guest_cid == 42);
  CHECK(cfg().vsock->uds_path == "/run/v.sock");
  REQUIRE(cfg().fs.size() == 1);
  CHECK(cfg().fs[0].socket_path == "/run/fs.sock");
  REQUIRE(cfg().shares.size() == 2);
  CHECK(cfg().shares[0].read_only);
  CHECK(cfg().shares[0].virtiofsd_path == minivmm::ShareConfig{}.virtiofsd_path);
  CHECK(cfg().shares[1].root);
  CHECK(cfg().shares[1].virtiofsd_path == "/opt/virtiofsd");

  CHECK(minivmm_config_set_vsock(c, 0, nullptr) == 0);
  CHECK_FALSE(cfg().vsock.has_value());
}

TEST_CASE_FIXTURE(ConfigFixture, "C API: C callbacks receive the C++ events with user data") {
  struct Seen {
    std::string console, device, message;
    std::vector<int> states;
    int timer_value = -1;
    int64_t since_exec = 0, since_create = 0;
  } seen;
  REQUIRE(minivmm_config_set_console_callback(
              c,
              [](void* u, const char* d, size_t n) { static_cast<Seen*>(u)->console.append(d, n); },
              &seen) == 0);
  REQUIRE(minivmm_config_set_state_callback(
              c,
              [](void* u, int from, int to) {
                static_cast<Seen*>(u)->states = {from, to};
              },
              &seen) == 0);
  REQUIRE(minivmm_config_set_device_error_callback(
              c,
              [](void* u, const char* dev, const char* msg) {
                static_cast<Seen*>(u)->device = dev;
                static_cast<Seen*>(u)->message = msg;
              },
              &seen) == 0);
  REQUIRE(minivmm_config_set_boot_timer_callback(
              c,
              [](void* u, uint8_t v, int64_t e, int64_t cr) {
                auto* s = static_cast<Seen*>(u);
                s->timer_value = v;
                s->since_exec = e;
                s->since_create = cr;
              },
              &seen) == 0);
  CHECK(cfg().console.output == Output::callback);

  cfg().console.on_output(std::string_view("he\0lo", 5));
  cfg().on_state_change(minivmm::MachineState::running, minivmm::MachineState::paused);
  cfg().on_device_error(minivmm::DeviceError{"vda", "backing file gone"});
  cfg().on_boot_timer(
      minivmm::BootTimerEvent{0x41, std::chrono::nanoseconds(7), std::chrono::nanoseconds(3)});
  CHECK(seen.console == std::string("he\0lo", 5));
  CHECK(seen.states == std::vector<int>{MINIVMM_STATE_RUNNING, MINIVMM_STATE_PAUSED});
  CHECK(seen.device == "vda");
  CHECK(seen.message == "backing file gone");
  CHECK(seen.timer_value == 0x41);
  CHECK(seen.since_exec == 7);
  CHECK(seen.since_create == 3);

  CHECK(minivmm_config_set_state_callback(c, nullptr, nullptr) == 0);
  CHECK_FALSE(cfg().on_state_change);
}

TEST_CASE("C API: config functions refuse a NULL config or out pointer") {
  CHECK(minivmm_config_new(nullptr) == -EINVAL);
  CHECK(last_error() == "minivmm_config_new: out is NULL");
  CHECK(minivmm_config_set_memory_mib(nullptr, 64) == -EINVAL);
  CHECK(minivmm_config_set_kernel(nullptr, "k") == -EINVAL);
  CHECK(minivmm_config_set_console(nullptr, MINIVMM_CONSOLE_NONE, nullptr) == -EINVAL);
  CHECK(minivmm_config_add_disk(nullptr, nullptr, "/img", 0, nullptr) == -EINVAL);
  CHECK(minivmm_config_add_net(nullptr, "tap0", -1, nullptr, 0) == -EINVAL);
  CHECK(minivmm_config_set_vsock(nullptr, 3, "/s") == -EINVAL);
  CHECK(minivmm_config_merge_json(nullptr, "{}") == -EINVAL);
  char* out = nullptr;
  CHECK(minivmm_config_to_json(nullptr, &out) == -EINVAL);
  CHECK(last_error() == "minivmm_config_to_json: config is NULL");
  CHECK(out == nullptr);
  minivmm_config_free(nullptr);
}

TEST_CASE_FIXTURE(ConfigFixture, "C API: setters refuse NULL strings naming the field") {
  CHECK(minivmm_config_set_kernel(c, nullptr) == -EINVAL);
  CHECK(last_error() == "minivmm_config_set_kernel: kernel path is NULL");
  CHECK(minivmm_config_set_cmdline(c, nullptr) == -EINVAL);
  CHECK(minivmm_config_set_console(c, MINIVMM_CONSOLE_FILE, nullptr) == -EINVAL);
  CHECK(last_error().find("console.path") != std::string::npos);
  CHECK(minivmm_config_set_console_callback(c, nullptr, nullptr) == -EINVAL);
  CHECK(minivmm_config_add_fs(c, nullptr, "/s", 0) == -EINVAL);
  CHECK(last_error() == "minivmm_config_add_fs: fs[0].tag is NULL");
  CHECK(minivmm_config_add_share(c, "t", nullptr, 0, nullptr) == -EINVAL);
  CHECK(last_error() == "minivmm_config_add_share: shares[0].dir is NULL");
  CHECK(cfg().fs.empty());
  CHECK(cfg().shares.empty());
  CHECK(cfg().console.output == Output::stdio);
}

TEST_CASE_FIXTURE(ConfigFixture, "C API: values without a C++ form are refused, changing nothing") {
  CHECK(minivmm_config_set_console(c, 17, nullptr) == -EINVAL);
  CHECK(last_error().find("console.output: 17") != std::string::npos);
  CHECK(minivmm_config_set_console(c, MINIVMM_CONSOLE_CALLBACK, nullptr) == -EINVAL);
  CHECK(cfg().console.output == Output::stdio);

  REQUIRE(minivmm_config_add_disk(c, nullptr, "/a", 0, nullptr) == 0);
  CHECK(minivmm_config_add_disk(c, nullptr, "/b", 0x10, nullptr) == -EINVAL);
  CHECK(last_error() == "minivmm_config_add_disk: disks[1].flags: unknown flag bits 0x10");
  CHECK(minivmm_config_add_fs(c, "t", "/s", MINIVMM_READ_ONLY) == -EINVAL);
  CHECK(last_error().find("fs[0].flags") != std::string::npos);
  CHECK(minivmm_config_add_net(c, "tap0", -1, nullptr, 65536) == -EINVAL);
  CHECK(last_error() == "minivmm_config_add_net: nets[0].mtu: 65536 is above 65535");
  CHECK(cfg().disks.size() == 1);
  CHECK(cfg().fs.empty());
  CHECK(cfg().nets.empty());
}

TEST_CASE("C API: a config round-trips through its JSON form") {
  minivmm_config* a = nullptr;
  REQUIRE(minivmm_config_new(&a) == 0);
  REQUIRE(minivmm_config_set_vcpus(a, 3) == 0);
  REQUIRE(minivmm_config_set_kernel(a, "/k") == 0);
  REQUIRE(minivmm_config_add_disk(a, "d0", "/img", MINIVMM_READ_ONLY, "s0") == 0);
  char* json = nullptr;
  REQUIRE(minivmm_config_to_json(a, &json) == 0);
  REQUIRE(json != nullptr);
  minivmm_config* b = nullptr;
  CHECK_MESSAGE(minivmm_config_from_json(json, &b) == 0, minivmm_last_error());
  REQUIRE(b != nullptr);
  CHECK(b->config.vcpus == 3);
  CHECK(b->config.kernel_path == "/k");
  REQUIRE(b->config.disks.size() == 1);
  CHECK(b->config.disks[0].serial == "s0");
  CHECK(b->config.disks[0].read_only);
  minivmm_free_string(json);
  minivmm_config_free(a);
  minivmm_config_free(b);
}

TEST_CASE("C API: JSON with an unknown key or bad syntax is refused naming the problem") {
  minivmm_config* out = nullptr;
  CHECK(minivmm_config_from_json(R"({"vcpus": 2, "vcpuz": 3})", &out) == -EINVAL);
  CHECK(last_error().find("vcpuz") != std::string::npos);
  CHECK(minivmm_config_from_json(R"({"disks": [{"path": "/x", "colour": 1}]})", &out) == -EINVAL);
  CHECK(last_error().find("colour") != std::string::npos);
  CHECK(minivmm_config_from_json(R"({"vcpus": "two"})", &out) == -EINVAL);
  CHECK(last_error().find("vcpus") != std::string::npos);
  CHECK(minivmm_config_from_json("{\"vcpus\": ", &out) == -EINVAL);
  CHECK(minivmm_config_from_json(nullptr, &out) == -EINVAL);
  CHECK(last_error() == "minivmm_config_from_json: json is NULL");
  CHECK(minivmm_config_from_json("{}", nullptr) == -EINVAL);
  CHECK(out == nullptr);
}

TEST_CASE_FIXTURE(ConfigFixture,
                  "C API: merging JSON applies keys, keeps callbacks, and is atomic") {
  REQUIRE(minivmm_config_set_state_callback(
              c, [](void*, int, int) {}, nullptr) == 0);
  CHECK(minivmm_config_merge_json(c, R"({"vcpus": 2, "memory_mib": 300})") == 0);
  CHECK(cfg().vcpus == 2);
  CHECK(cfg().memory_mib == 300);
  CHECK(static_cast<bool>(cfg().on_state_change));
  CHECK(minivmm_config_merge_json(c, R"({"vcpus": 4, "nope": true})") == -EINVAL);
  CHECK(last_error().find("nope") != std::string::npos);
  CHECK(cfg().vcpus == 2);
  CHECK(minivmm_config_merge_json(c, nullptr) == -EINVAL);
}

}  // namespace
