// Unit tests of `minivmm run`'s effective configuration (run_config.hpp), through the same
// option parsing main() uses and without a VM: a --config file supplies the machine and the "cli"
// settings, options given on the command line override scalars and replace whole device lists,
// the kernel may come from either but must come from one, file problems exit 3 and option
// problems 2 with one message naming the file and key, and --print-config's output is itself a
// config file that resolves to the same configuration.
#include "vmm/cli/run_config.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "vmm/cli/exit_codes.hpp"

namespace minivmm::cli {
namespace {

// A JSON file in /tmp holding `text`, removed at scope exit.
class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    char name[] = "/tmp/minivmm-run-config-XXXXXX.json";
    int fd = ::mkstemps(name, 5);
    REQUIRE(fd >= 0);
    m_path = name;
    REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    ::close(fd);
  }
  ~TempFile() { ::unlink(m_path.c_str()); }
  const std::string& path() const { return m_path; }

 private:
  std::string m_path;
};

RunOptions parsed(const std::string& args) {
  RunOptions o;
  CLI::App app("test");
  add_run_options(app, o);
  app.parse(args, false);
  return o;
}

tl::expected<EffectiveRun, RunFailure> resolve(const std::string& args) {
  return resolve_run(parsed(args));
}

// resolve_run with `file` as --config plus `args`; requires success.
EffectiveRun resolve_ok(const TempFile& file, const std::string& args = "") {
  auto r = resolve("--config " + file.path() + " " + args);
  if (!r) FAIL(r.error().message);
  return *r;
}

// The failure of resolve_run with `file` as --config plus `args`; requires failure.
RunFailure resolve_fail(const TempFile& file, const std::string& args = "") {
  auto r = resolve("--config " + file.path() + " " + args);
  REQUIRE_FALSE(r.has_value());
  return r.error();
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

const char* const kVmJson = R"({
  "kernel_path": "/k/vmlinux", "initrd_path": "/k/initrd", "vcpus": 2, "memory_mib": 128,
  "cmdline": "console=ttyS0 e2e.tag=file",
  "disks": [{"path": "/a.img"}, {"path": "/b.img", "read_only": true}],
  "nets": [{"tap_name": "tap0", "mac": "02:00:00:00:00:01"}],
  "vsock": {"guest_cid": 5, "uds_path": "/v.sock"},
  "fs": [{"tag": "ext", "socket_path": "/fs.sock"}],
  "shares": [{"tag": "src", "dir": "/src", "virtiofsd_path": "/file/virtiofsd"}]
})";

TEST_CASE("without a file the options alone make the machine and the cli settings") {
  auto r =
      resolve("--kernel k --memory 64 --boot-timing=json --exit-on-marker 0x41 --log-level debug");
  REQUIRE(r.has_value());
  CHECK(r->machine.kernel_path == "k");
  CHECK(r->machine.memory_mib == 64);
  CHECK(r->machine.vcpus == 1);
  CHECK(r->cli.boot_timing == "json");
  CHECK(r->cli.exit_on_marker == uint8_t{0x41});
  CHECK(r->cli.log_level == "debug");
}

TEST_CASE("the defaults without a file are MachineConfig's and RunSettings'") {
  auto r = resolve("--kernel k");
  REQUIRE(r.has_value());
  CHECK(r->machine.cmdline == MachineConfig{}.cmdline);
  CHECK(r->machine.console.output == ConsoleConfig::Output::stdio);
  CHECK(r->machine.console.stdin_input == (::isatty(STDIN_FILENO) == 1));
  CHECK(r->cli.boot_timing == "off");
  CHECK(r->cli.log_level == "info");
  CHECK_FALSE(r->cli.exit_on_marker.has_value());
}

TEST_CASE("no kernel in the options nor a file is a usage error naming both places") {
  auto r = resolve("--memory 64");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().exit_code == kExitUsage);
  CHECK(contains(r.error().message, "--kernel"));
  CHECK(contains(r.error().message, "kernel_path"));
  TempFile file(R"({"memory_mib": 64})");
  CHECK(resolve_fail(file).exit_code == kExitUsage);
}

TEST_CASE("a config file supplies the kernel and every field") {
  TempFile file(kVmJson);
  EffectiveRun r = resolve_ok(file);
  CHECK(r.machine.kernel_path == "/k/vmlinux");
  CHECK(r.machine.initrd_path == "/k/initrd");
  CHECK(r.machine.vcpus == 2);
  CHECK(r.machine.memory_mib == 128);
  CHECK(r.machine.cmdline == "console=ttyS0 e2e.tag=file");
  CHECK(r.machine.disks.size() == 2);
  CHECK(r.machine.nets.size() == 1);
  CHECK(r.machine.vsock.has_value());
  CHECK(r.machine.fs.size() == 1);
  REQUIRE(r.machine.shares.size() == 1);
  CHECK(r.machine.shares[0].virtiofsd_path == "/file/virtiofsd");
}

TEST_CASE("scalar options override the file's values and leave the rest") {
  TempFile file(kVmJson);
  EffectiveRun r = resolve_ok(file, "--memory 300 --kernel /other --cmdline \"quiet\"");
  CHECK(r.machine.memory_mib == 300);
  CHECK(r.machine.kernel_path == "/other");
  CHECK(r.machine.cmdline == "quiet");
  CHECK(r.machine.vcpus == 2);
  CHECK(r.machine.initrd_path == "/k/initrd");
  CHECK(r.machine.disks.size() == 2);
  r = resolve_ok(file, "--vcpus 1 --initrd /i2");
  CHECK(r.machine.vcpus == 1);
  CHECK(r.machine.initrd_path == "/i2");
  CHECK(r.machine.memory_mib == 128);
}

TEST_CASE("an option given with its default value still overrides the file") {
  TempFile file(kVmJson);
  CHECK(resolve_ok(file, "--vcpus 1").machine.vcpus == 1);
  CHECK(resolve_ok(file, "--memory 128").machine.memory_mib == 128);
}

TEST_CASE("--disk and --rootfs replace the file's whole disk list") {
  TempFile file(kVmJson);
  EffectiveRun r = resolve_ok(file, "--disk /c.img");
  REQUIRE(r.machine.disks.size() == 1);
  CHECK(r.machine.disks[0].path == "/c.img");
  r = resolve_ok(file, "--rootfs /r.img,ro");
  REQUIRE(r.machine.disks.size() == 1);
  CHECK(r.machine.disks[0].root);
  CHECK(r.machine.disks[0].read_only);
}

TEST_CASE("--net, --vsock and --fs replace the file's devices of that kind") {
  TempFile file(kVmJson);
  EffectiveRun r = resolve_ok(file, "--net tap=t1 --net tap=t2 --vsock cid=9,uds=/w.sock");
  REQUIRE(r.machine.nets.size() == 2);
  CHECK(r.machine.nets[0].tap_name == "t1");
  CHECK_FALSE(r.machine.nets[0].mac.has_value());
  CHECK(r.machine.vsock->guest_cid == 9);
  CHECK(r.machine.vsock->uds_path == "/w.sock");
  CHECK(r.machine.fs.size() == 1);
  r = resolve_ok(file, "--fs tag=x,socket=/x.sock");
  REQUIRE(r.machine.fs.size() == 1);
  CHECK(r.machine.fs[0].tag == "x");
  CHECK(r.machine.nets[0].tap_name == "tap0");
}

TEST_CASE("--share and --rootfs-dir replace the file's shares; --virtiofsd applies to all") {
  TempFile file(kVmJson);
  EffectiveRun r = resolve_ok(file, "--rootfs-dir /root");
  REQUIRE(r.machine.shares.size() == 1);
  CHECK(r.machine.shares[0].tag == "rootfs");
  CHECK(r.machine.shares[0].root);
  r = resolve_ok(file, "--virtiofsd /opt/vfsd");
  REQUIRE(r.machine.shares.size() == 1);
  CHECK(r.machine.shares[0].tag == "src");
  CHECK(r.machine.shares[0].virtiofsd_path == "/opt/vfsd");
}

TEST_CASE("--console replaces the file's console") {
  TempFile file(R"({"kernel_path": "/k", "console": {"output": "file", "path": "/c.log"}})");
  EffectiveRun r = resolve_ok(file);
  CHECK(r.machine.console.output == ConsoleConfig::Output::file);
  CHECK(r.machine.console.path == "/c.log");
  CHECK_FALSE(r.machine.console.stdin_input);
  r = resolve_ok(file, "--console none");
  CHECK(r.machine.console.output == ConsoleConfig::Output::none);
  CHECK(r.machine.console.path.empty());
}

TEST_CASE("the file's console.stdin_input wins when given") {
  TempFile file(R"({"kernel_path": "/k", "console": {"output": "none", "stdin_input": true}})");
  CHECK(resolve_ok(file).machine.console.stdin_input);
}

TEST_CASE("the cli object sets log level, boot timing and exit marker; options override it") {
  TempFile file(R"({"kernel_path": "/k",
                    "cli": {"log_level": "warn", "boot_timing": "json", "exit_on_marker": 65}})");
  EffectiveRun r = resolve_ok(file);
  CHECK(r.cli.log_level == "warn");
  CHECK(r.cli.boot_timing == "json");
  CHECK(r.cli.exit_on_marker == uint8_t{65});
  r = resolve_ok(file, "--log-level error --boot-timing --exit-on-marker 0x42");
  CHECK(r.cli.log_level == "error");
  CHECK(r.cli.boot_timing == "text");
  CHECK(r.cli.exit_on_marker == uint8_t{0x42});
}

TEST_CASE("exit_on_marker null turns the marker off") {
  TempFile file(R"({"kernel_path": "/k", "cli": {"exit_on_marker": null}})");
  CHECK_FALSE(resolve_ok(file).cli.exit_on_marker.has_value());
}

TEST_CASE("bad cli values and keys are config errors naming the file and the key") {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"cli": {"log_level": "loud"}})",
       R"(cli.log_level: "loud" is not one of trace, debug, info, warn, error, off)"},
      {R"({"cli": {"boot_timing": "yes"}})", R"(cli.boot_timing: "yes" is not one of off, text)"},
      {R"({"cli": {"boot_timing": true}})", "cli.boot_timing: expected a string"},
      {R"({"cli": {"exit_on_marker": 256}})", "cli.exit_on_marker: expected an integer in 0..255"},
      {R"({"cli": {"exit_on_marker": "0x41"}})", "cli.exit_on_marker: expected an integer"},
      {R"({"cli": {"verbose": true}})",
       "cli.verbose: unknown key (known keys: log_level, boot_timing, exit_on_marker)"},
      {R"({"cli": []})", "cli: expected an object, got an array"},
  };
  for (const auto& [text, want] : cases) {
    CAPTURE(text);
    TempFile file(text);
    RunFailure f = resolve_fail(file, "--kernel k");
    CHECK(f.exit_code == kExitBadConfig);
    CHECK_MESSAGE(f.message.rfind(file.path() + ": " + want, 0) == 0, f.message);
  }
}

TEST_CASE("a missing config file is one message with its path and exit code 3") {
  auto r = resolve("--kernel k --config /nonexistent/vm.json");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().exit_code == kExitBadConfig);
  CHECK(r.error().message == "--config /nonexistent/vm.json: No such file or directory");
}

TEST_CASE("a directory as config file is a config error") {
  auto r = resolve("--kernel k --config /tmp");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().exit_code == kExitBadConfig);
  CHECK(contains(r.error().message, "--config /tmp"));
}

TEST_CASE("bad JSON in the file names the file and the byte") {
  TempFile file("{\"vcpus\": 2,,}");
  RunFailure f = resolve_fail(file, "--kernel k");
  CHECK(f.exit_code == kExitBadConfig);
  CHECK(f.message.rfind(file.path() + ": invalid JSON at byte 13: ", 0) == 0);
}

TEST_CASE("an unknown or mistyped machine key names the file and the key path") {
  TempFile unknown(R"({"kernel_path": "/k", "disks": [{"path": "/a", "readonly": true}]})");
  RunFailure f = resolve_fail(unknown);
  CHECK(f.exit_code == kExitBadConfig);
  CHECK(f.message.rfind(unknown.path() + ": disks[0].readonly: unknown key", 0) == 0);
  TempFile mistyped(R"({"kernel_path": "/k", "memory_mib": "300"})");
  f = resolve_fail(mistyped);
  CHECK(f.message.rfind(mistyped.path() + ": memory_mib: expected an integer", 0) == 0);
  TempFile array("[1]");
  CHECK(resolve_fail(array).message ==
        array.path() + ": config: expected a JSON object, got an array");
}

TEST_CASE("a bad option is a usage error even with a good file") {
  TempFile file(kVmJson);
  CHECK(resolve_fail(file, "--boot-timing=xml").exit_code == kExitUsage);
  CHECK(resolve_fail(file, "--exit-on-marker 300").exit_code == kExitUsage);
  RunFailure f = resolve_fail(file, "--disk a.img,rw");
  CHECK(f.exit_code == kExitUsage);
  CHECK(contains(f.message, "--disk"));
}

TEST_CASE("merge_config_text leaves the run unchanged on error") {
  EffectiveRun run;
  run.machine.memory_mib = 77;
  auto r = merge_config_text(run, R"({"memory_mib": 5, "cli": {"log_level": "bogus"}})", "f");
  REQUIRE_FALSE(r.has_value());
  CHECK(run.machine.memory_mib == 77);
  CHECK(run.cli.log_level == "info");
  r = merge_config_text(run, R"({"cli": {"log_level": "debug"}, "memory_mib": "x"})", "f");
  REQUIRE_FALSE(r.has_value());
  CHECK(run.cli.log_level == "info");
}

TEST_CASE("--print-config output lists the machine keys and the cli object") {
  TempFile file(kVmJson);
  EffectiveRun r = resolve_ok(file, "--memory 300 --print-config");
  auto j = nlohmann::json::parse(effective_config_json(r));
  CHECK(j["memory_mib"] == 300);
  CHECK(j["vcpus"] == 2);
  CHECK(j["kernel_path"] == "/k/vmlinux");
  CHECK(j["nets"][0]["mac"] == "02:00:00:00:00:01");
  CHECK(j["cli"] == nlohmann::json::parse(
                        R"({"log_level": "info", "boot_timing": "off", "exit_on_marker": null})"));
}

TEST_CASE("--print-config output read back as --config resolves to the same config") {
  TempFile file(kVmJson);
  const std::string printed = effective_config_json(
      resolve_ok(file, "--memory 300 --exit-on-marker 7 --console none --print-config"));
  TempFile again(printed);
  CHECK(effective_config_json(resolve_ok(again)) == printed);
}

TEST_CASE("--print-config runs validate_config; a plain run leaves it to Machine::create") {
  TempFile file(R"({"kernel_path": "/k", "memory_mib": 0})");
  RunFailure f = resolve_fail(file, "--print-config");
  CHECK(f.exit_code == kExitBadConfig);
  CHECK(contains(f.message, "memory"));
  CHECK(resolve_ok(file).machine.memory_mib == 0);
}

}  // namespace
}  // namespace minivmm::cli
