// Unit tests of the JSON form of MachineConfig (include/minivmm/config_json.hpp): every key reads
// into its field and a fully populated config survives to_json -> from_json; every wrong JSON
// type, every unknown key (top level and nested) and every number that does not fit its field is
// an invalid_config error naming the key path; syntax errors carry the byte offset; merge keeps
// absent keys, merges nested objects key by key and replaces arrays; the "cli" key is refused.
#include <minivmm/config_json.hpp>

#include <string>
#include <utility>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

namespace minivmm {
namespace {

// The error message of parsing `text`, or "" if it parsed.
std::string error_of(const std::string& text) {
  auto c = machine_config_from_json(text);
  if (c) return "";
  CHECK(c.error().code() == ErrorCode::invalid_config);
  return c.error().message();
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

MachineConfig full_config() {
  MachineConfig m;
  m.vcpus = 4;
  m.memory_mib = 1536;
  m.kernel_path = "/k/vmlinux";
  m.initrd_path = "/k/initrd.cpio";
  m.cmdline = "console=ttyS0 quiet";
  m.console.output = ConsoleConfig::Output::file;
  m.console.path = "/tmp/console.log";
  m.console.stdin_input = true;
  m.disks.push_back({"root", "/img/root.raw", true, "SER1", true});
  m.disks.push_back({"", "/img/data.raw", false, "", false});
  NetConfig tap;
  tap.tap_name = "tap7";
  tap.mac = std::array<uint8_t, 6>{0x02, 0x00, 0x00, 0xab, 0xcd, 0xef};
  tap.mtu = 9000;
  NetConfig fd;
  fd.tap_fd = 5;
  m.nets = {tap, fd};
  m.vsock = VsockConfig{42, "/run/vsock.sock"};
  m.fs.push_back({"data", "/run/fs.sock", false});
  m.shares.push_back({"rootfs", "/srv/root", true, true, "/opt/virtiofsd"});
  return m;
}

TEST_CASE("an empty object gives MachineConfig's defaults") {
  auto c = machine_config_from_json("{}");
  REQUIRE(c.has_value());
  CHECK(machine_config_to_json(*c) == machine_config_to_json(MachineConfig{}));
  CHECK(c->vcpus == 1);
  CHECK(c->memory_mib == 128);
  CHECK(c->cmdline == MachineConfig{}.cmdline);
  CHECK_FALSE(c->vsock.has_value());
}

TEST_CASE("to_json then from_json gives back every field of a full config") {
  const MachineConfig m = full_config();
  auto c = machine_config_from_json(machine_config_to_json(m));
  REQUIRE(c.has_value());
  CHECK(c->vcpus == 4);
  CHECK(c->memory_mib == 1536);
  CHECK(c->kernel_path == "/k/vmlinux");
  CHECK(c->initrd_path == "/k/initrd.cpio");
  CHECK(c->cmdline == "console=ttyS0 quiet");
  CHECK(c->console.output == ConsoleConfig::Output::file);
  CHECK(c->console.path == "/tmp/console.log");
  CHECK(c->console.stdin_input);
  REQUIRE(c->disks.size() == 2);
  CHECK(c->disks[0].id == "root");
  CHECK(c->disks[0].path == "/img/root.raw");
  CHECK(c->disks[0].read_only);
  CHECK(c->disks[0].serial == "SER1");
  CHECK(c->disks[0].root);
  CHECK(c->disks[1].path == "/img/data.raw");
  CHECK_FALSE(c->disks[1].read_only);
  REQUIRE(c->nets.size() == 2);
  CHECK(c->nets[0].tap_name == "tap7");
  CHECK(c->nets[0].tap_fd == -1);
  CHECK(c->nets[0].mac == m.nets[0].mac);
  CHECK(c->nets[0].mtu == 9000);
  CHECK(c->nets[1].tap_fd == 5);
  CHECK_FALSE(c->nets[1].mac.has_value());
  REQUIRE(c->vsock.has_value());
  CHECK(c->vsock->guest_cid == 42);
  CHECK(c->vsock->uds_path == "/run/vsock.sock");
  REQUIRE(c->fs.size() == 1);
  CHECK(c->fs[0].tag == "data");
  CHECK(c->fs[0].socket_path == "/run/fs.sock");
  REQUIRE(c->shares.size() == 1);
  CHECK(c->shares[0].tag == "rootfs");
  CHECK(c->shares[0].dir == "/srv/root");
  CHECK(c->shares[0].read_only);
  CHECK(c->shares[0].root);
  CHECK(c->shares[0].virtiofsd_path == "/opt/virtiofsd");
  CHECK(machine_config_to_json(*c) == machine_config_to_json(m));
}

TEST_CASE("to_json writes every key, defaults included, in schema order") {
  MachineConfig m;
  m.disks.resize(1);
  m.nets.resize(1);
  m.vsock.emplace();
  m.fs.resize(1);
  m.shares.resize(1);
  auto j = nlohmann::ordered_json::parse(machine_config_to_json(m));
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  CHECK(keys == std::vector<std::string>{"vcpus", "memory_mib", "kernel_path", "initrd_path",
                                         "cmdline", "console", "disks", "nets", "vsock", "fs",
                                         "shares"});
  CHECK(j["console"].size() == 3);
  CHECK(j["disks"][0].size() == 5);
  CHECK(j["nets"][0].size() == 4);
  CHECK(j["nets"][0]["mac"].is_null());
  CHECK(j["nets"][0]["tap_fd"] == -1);
  CHECK(j["vsock"]["guest_cid"] == 3);
  CHECK(j["fs"][0].size() == 3);
  CHECK(j["shares"][0]["virtiofsd_path"] == "/usr/lib/qemu/virtiofsd");
  CHECK(nlohmann::json::parse(machine_config_to_json(MachineConfig{}))["vsock"].is_null());
}

TEST_CASE("every console output name reads and writes back") {
  for (const char* name : {"none", "stdio", "file", "callback"}) {
    CAPTURE(name);
    auto c = machine_config_from_json(std::string(R"({"console": {"output": ")") + name + "\"}}");
    REQUIRE(c.has_value());
    CHECK(nlohmann::json::parse(machine_config_to_json(*c))["console"]["output"] == name);
  }
}

TEST_CASE("a MAC address reads in either case and is written lower-case") {
  auto c =
      machine_config_from_json(R"({"nets": [{"tap_name": "t0", "mac": "02:AB:cd:00:00:01"}]})");
  REQUIRE(c.has_value());
  CHECK(c->nets[0].mac == std::array<uint8_t, 6>{0x02, 0xab, 0xcd, 0x00, 0x00, 0x01});
  CHECK(nlohmann::json::parse(machine_config_to_json(*c))["nets"][0]["mac"] == "02:ab:cd:00:00:01");
}

TEST_CASE("null mac and null vsock mean none") {
  auto c =
      machine_config_from_json(R"({"nets": [{"tap_name": "t0", "mac": null}], "vsock": null})");
  REQUIRE(c.has_value());
  CHECK_FALSE(c->nets[0].mac.has_value());
  CHECK_FALSE(c->vsock.has_value());
}

TEST_CASE("a vsock object fills absent keys from VsockConfig's defaults") {
  auto c = machine_config_from_json(R"({"vsock": {"uds_path": "/v.sock"}})");
  REQUIRE(c.has_value());
  REQUIRE(c->vsock.has_value());
  CHECK(c->vsock->guest_cid == 3);
  CHECK(c->vsock->uds_path == "/v.sock");
}

TEST_CASE("wrong JSON types are errors naming the key path and the value") {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"vcpus": "2"})", R"(vcpus: expected an integer in 0..4294967295, got a string ("2"))"},
      {R"({"memory_mib": true})", "memory_mib: expected an integer"},
      {R"({"memory_mib": 1.5})",
       "memory_mib: expected an integer in 0..18446744073709551615, got a number (1.5)"},
      {R"({"kernel_path": 5})", "kernel_path: expected a string, got a number (5)"},
      {R"({"initrd_path": null})", "initrd_path: expected a string, got null"},
      {R"({"cmdline": ["a"]})", "cmdline: expected a string, got an array"},
      {R"({"console": "stdio"})", R"(console: expected an object, got a string ("stdio"))"},
      {R"({"console": {"output": "tty"}})",
       "console.output: expected one of \"none\", \"stdio\", \"file\", \"callback\", got a string "
       "(\"tty\")"},
      {R"({"console": {"path": 1}})", "console.path: expected a string"},
      {R"({"console": {"stdin_input": 1}})",
       "console.stdin_input: expected a boolean, got a number (1)"},
      {R"({"disks": {}})", "disks: expected an array, got an object"},
      {R"({"disks": ["/a.img"]})", "disks[0]: expected an object"},
      {R"({"disks": [{"path": "/a"}, {"path": "/b", "read_only": "yes"}]})",
       R"(disks[1].read_only: expected a boolean, got a string ("yes"))"},
      {R"({"disks": [{"id": 1}]})", "disks[0].id: expected a string"},
      {R"({"disks": [{"serial": false}]})",
       "disks[0].serial: expected a string, got a boolean (false)"},
      {R"({"disks": [{"root": "true"}]})", "disks[0].root: expected a boolean"},
      {R"({"nets": [{"tap_name": 0}]})", "nets[0].tap_name: expected a string"},
      {R"({"nets": [{"tap_fd": "3"}]})",
       "nets[0].tap_fd: expected an integer in -2147483648..2147483647"},
      {R"({"nets": [{"mac": "02:00:00:00:00"}]})",
       "nets[0].mac: expected a MAC address like \"02:00:00:00:00:01\""},
      {R"({"nets": [{"mac": "02-00-00-00-00-01"}]})", "nets[0].mac: expected a MAC address"},
      {R"({"nets": [{"mac": "0x:00:00:00:00:01"}]})", "nets[0].mac: expected a MAC address"},
      {R"({"nets": [{"mac": 2}]})", "nets[0].mac: expected a MAC address"},
      {R"({"nets": [{"mtu": "1500"}]})", "nets[0].mtu: expected an integer in 0..65535"},
      {R"({"vsock": 3})", "vsock: expected an object, got a number (3)"},
      {R"({"vsock": {"guest_cid": "3"}})", "vsock.guest_cid: expected an integer"},
      {R"({"vsock": {"uds_path": false}})", "vsock.uds_path: expected a string"},
      {R"({"fs": [{"tag": 1}]})", "fs[0].tag: expected a string"},
      {R"({"fs": [{"socket_path": {}}]})", "fs[0].socket_path: expected a string, got an object"},
      {R"({"fs": [{"root": 0}]})", "fs[0].root: expected a boolean"},
      {R"({"shares": [{"tag": null}]})", "shares[0].tag: expected a string, got null"},
      {R"({"shares": [{"dir": 1}]})", "shares[0].dir: expected a string"},
      {R"({"shares": [{"read_only": "no"}]})", "shares[0].read_only: expected a boolean"},
      {R"({"shares": [{"root": []}]})", "shares[0].root: expected a boolean, got an array"},
      {R"({"shares": [{"virtiofsd_path": 7}]})", "shares[0].virtiofsd_path: expected a string"},
  };
  for (const auto& [text, want] : cases) {
    CAPTURE(text);
    const std::string got = error_of(text);
    CHECK_MESSAGE(starts_with(got, want), got);
  }
}

TEST_CASE("long values are cut short in error messages") {
  const std::string got = error_of(R"({"vcpus": ")" + std::string(200, 'x') + "\"}");
  CHECK(got.find(std::string(30, 'x') + "...") != std::string::npos);
  CHECK(got.size() < 150);
}

TEST_CASE("unknown keys are errors at every level, naming the path and the known keys") {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"memory": 256})",
       "memory: unknown key (known keys: vcpus, memory_mib, kernel_path, "
       "initrd_path, cmdline, console, disks, nets, vsock, fs, shares)"},
      {R"({"kernel": "/k"})", "kernel: unknown key"},
      {R"({"console": {"outptu": "none"}})",
       "console.outptu: unknown key (known keys: output, path, stdin_input)"},
      {R"({"disks": [{"path": "/a"}, {"path": "/b", "ro": true}]})",
       "disks[1].ro: unknown key (known keys: id, path, read_only, serial, root)"},
      {R"({"nets": [{"tap_name": "t", "vhost": true}]})", "nets[0].vhost: unknown key"},
      {R"({"vsock": {"cid": 3}})", "vsock.cid: unknown key (known keys: guest_cid, uds_path)"},
      {R"({"fs": [{"tag": "a", "cache": "auto"}]})", "fs[0].cache: unknown key"},
      {R"({"shares": [{"tag": "a", "dir": "/", "xattr": true}]})", "shares[0].xattr: unknown key"},
  };
  for (const auto& [text, want] : cases) {
    CAPTURE(text);
    const std::string got = error_of(text);
    CHECK_MESSAGE(starts_with(got, want), got);
  }
}

TEST_CASE("the cli object is refused with a hint that only the minivmm command reads it") {
  const std::string got = error_of(R"({"cli": {"log_level": "debug"}})");
  CHECK(starts_with(got, "cli: unknown key"));
  CHECK(got.find("minivmm command") != std::string::npos);
}

TEST_CASE("numbers that do not fit their field are errors naming the key") {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"vcpus": 4294967296})",
       "vcpus: expected an integer in 0..4294967295, got a number (4294967296)"},
      {R"({"vcpus": -1})", "vcpus: expected an integer in 0..4294967295, got a number (-1)"},
      {R"({"memory_mib": -5})", "memory_mib: expected an integer in 0..18446744073709551615"},
      {R"({"memory_mib": 18446744073709551616})",
       "memory_mib: expected an integer in 0..18446744073709551615"},
      {R"({"memory_mib": 1e3})", "memory_mib: expected an integer"},
      {R"({"nets": [{"mtu": 65536}]})",
       "nets[0].mtu: expected an integer in 0..65535, got a number (65536)"},
      {R"({"nets": [{"tap_fd": 2147483648}]})",
       "nets[0].tap_fd: expected an integer in -2147483648..2147483647"},
      {R"({"nets": [{"tap_fd": -2147483649}]})",
       "nets[0].tap_fd: expected an integer in -2147483648..2147483647"},
      {R"({"vsock": {"guest_cid": -3}})",
       "vsock.guest_cid: expected an integer in 0..18446744073709551615"},
  };
  for (const auto& [text, want] : cases) {
    CAPTURE(text);
    const std::string got = error_of(text);
    CHECK_MESSAGE(starts_with(got, want), got);
  }
}

TEST_CASE("numbers at the edges of their field are accepted") {
  auto c = machine_config_from_json(
      R"({"vcpus": 4294967295, "memory_mib": 18446744073709551615,
          "nets": [{"tap_fd": -2147483648, "mtu": 65535}, {"tap_fd": 2147483647, "mtu": 0}]})");
  REQUIRE(c.has_value());
  CHECK(c->vcpus == 4294967295u);
  CHECK(c->memory_mib == 18446744073709551615ull);
  CHECK(c->nets[0].tap_fd == -2147483648);
  CHECK(c->nets[0].mtu == 65535);
  CHECK(c->nets[1].tap_fd == 2147483647);
}

TEST_CASE("representable values out of validate_config's range are left to it") {
  auto c = machine_config_from_json(R"({"vcpus": 0, "memory_mib": 0, "nets": [{"mtu": 1}]})");
  REQUIRE(c.has_value());
  CHECK(c->vcpus == 0);
  CHECK(c->memory_mib == 0);
}

// nlohmann counts bytes from 1: the Nth byte read is where parsing failed (N = size + 1 at the
// end).
TEST_CASE("syntax errors give the byte offset") {
  CHECK(starts_with(error_of(R"({"vcpus": 2,})"), "invalid JSON at byte 13: "));
  CHECK(starts_with(error_of(R"({"vcpus": 2)"), "invalid JSON at byte 12: "));
  CHECK(starts_with(error_of("{\n  \"vcpus\": tru\n}"), "invalid JSON at byte 17: "));
  CHECK(error_of("{\n  \"vcpus\": tru\n}").find("line 3") != std::string::npos);
  CHECK(starts_with(error_of(""), "invalid JSON at byte 1: "));
  CHECK(starts_with(error_of("{} {}"), "invalid JSON at byte 4: "));
}

TEST_CASE("a top level that is not an object is an error") {
  CHECK(error_of("[]") == "config: expected a JSON object, got an array");
  CHECK(error_of("null") == "config: expected a JSON object, got null");
  CHECK(error_of("\"vm\"") == "config: expected a JSON object, got a string (\"vm\")");
}

TEST_CASE("a duplicate key is an error naming its path") {
  CHECK(error_of(R"({"vcpus": 1, "vcpus": 2})") == "vcpus: duplicate key");
  CHECK(error_of(R"({"disks": [{"path": "/a"}, {"path": "/b", "path": "/c"}]})") ==
        "disks[1].path: duplicate key");
  CHECK(error_of(R"({"vsock": {"uds_path": "/a", "guest_cid": 3, "uds_path": "/b"}})") ==
        "vsock.uds_path: duplicate key");
  CHECK(error_of(
            R"({"disks": [{"path": "/a"}], "nets": [{"tap_name": "a"}, {"mtu": 1, "mtu": 2}]})") ==
        "nets[1].mtu: duplicate key");
  // The same key in sibling objects is no duplicate.
  CHECK(error_of(R"({"disks": [{"path": "/a"}, {"path": "/b"}]})").empty());
}

TEST_CASE("merge keeps fields whose keys are absent") {
  MachineConfig m = full_config();
  REQUIRE(merge_machine_config_json(m, R"({"memory_mib": 300})").has_value());
  CHECK(m.memory_mib == 300);
  CHECK(m.vcpus == 4);
  CHECK(m.disks.size() == 2);
  CHECK(m.vsock.has_value());
}

TEST_CASE("merge merges nested objects key by key") {
  MachineConfig m = full_config();
  REQUIRE(
      merge_machine_config_json(m, R"({"console": {"output": "none"}, "vsock": {"guest_cid": 9}})")
          .has_value());
  CHECK(m.console.output == ConsoleConfig::Output::none);
  CHECK(m.console.path == "/tmp/console.log");
  CHECK(m.console.stdin_input);
  CHECK(m.vsock->guest_cid == 9);
  CHECK(m.vsock->uds_path == "/run/vsock.sock");
}

TEST_CASE("merge replaces whole arrays and their elements start from defaults") {
  MachineConfig m = full_config();
  REQUIRE(
      merge_machine_config_json(m, R"({"disks": [{"path": "/new.img"}], "nets": []})").has_value());
  REQUIRE(m.disks.size() == 1);
  CHECK(m.disks[0].path == "/new.img");
  CHECK_FALSE(m.disks[0].read_only);
  CHECK(m.disks[0].id.empty());
  CHECK(m.nets.empty());
  CHECK(m.shares.size() == 1);
}

TEST_CASE("merge with null vsock removes the device") {
  MachineConfig m = full_config();
  REQUIRE(merge_machine_config_json(m, R"({"vsock": null})").has_value());
  CHECK_FALSE(m.vsock.has_value());
}

TEST_CASE("a failed merge leaves the config unchanged") {
  MachineConfig m = full_config();
  const std::string before = machine_config_to_json(m);
  auto r = merge_machine_config_json(m, R"({"memory_mib": 300, "disks": [], "vcpus": "x"})");
  REQUIRE_FALSE(r.has_value());
  CHECK(machine_config_to_json(m) == before);
  REQUIRE_FALSE(merge_machine_config_json(m, R"({"memory_mib": 300, "bogus": 1})").has_value());
  CHECK(machine_config_to_json(m) == before);
  REQUIRE_FALSE(merge_machine_config_json(m, R"({"memory_mib": 300,)").has_value());
  CHECK(machine_config_to_json(m) == before);
}

TEST_CASE("callbacks survive a merge (they have no JSON form)") {
  MachineConfig m;
  int calls = 0;
  m.on_state_change = [&calls](MachineState, MachineState) { ++calls; };
  REQUIRE(merge_machine_config_json(m, R"({"vcpus": 2})").has_value());
  REQUIRE(m.on_state_change);
  m.on_state_change(MachineState::created, MachineState::running);
  CHECK(calls == 1);
}

}  // namespace
}  // namespace minivmm
