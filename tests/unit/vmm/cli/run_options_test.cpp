// Unit tests of `minivmm run` options: parse_console accepts stdio, none and file:PATH and refuses
// anything else (including "file:" alone) with a message naming --console; to_machine_config copies
// every field and propagates console errors; and add_run_options wired into a CLI::App records the
// options given, rejects non-numeric --vcpus and unknown log levels, and keeps the documented
// defaults.
#include "vmm/cli/run_options.hpp"

#include <set>
#include <string>

#include <doctest/doctest.h>

namespace minivmm::cli {
namespace {

// Parses `args` (without the program name) into fresh options; returns the parse error text or "".
std::string parse(RunOptions& o, const std::string& args) {
  CLI::App app("test");
  add_run_options(app, o);
  try {
    app.parse(args, false);
  } catch (const CLI::ParseError& e) {
    return e.what() + std::string(" ");
  }
  return "";
}

TEST_CASE("parse_console stdio selects stdout") {
  auto c = parse_console("stdio");
  REQUIRE(c.has_value());
  CHECK(c->output == ConsoleConfig::Output::stdio);
  CHECK(c->path.empty());
}

TEST_CASE("parse_console none discards output and never reads stdin") {
  auto c = parse_console("none");
  REQUIRE(c.has_value());
  CHECK(c->output == ConsoleConfig::Output::none);
  CHECK_FALSE(c->stdin_input);
}

TEST_CASE("parse_console file:PATH selects a file with that path") {
  auto c = parse_console("file:/var/log/guest.log");
  REQUIRE(c.has_value());
  CHECK(c->output == ConsoleConfig::Output::file);
  CHECK(c->path == "/var/log/guest.log");
  CHECK_FALSE(c->stdin_input);
}

TEST_CASE("parse_console keeps colons inside the file path") {
  auto c = parse_console("file:a:b");
  REQUIRE(c.has_value());
  CHECK(c->path == "a:b");
}

TEST_CASE("parse_console refuses file: without a path naming --console") {
  auto c = parse_console("file:");
  REQUIRE_FALSE(c.has_value());
  CHECK(c.error().code() == ErrorCode::invalid_config);
  CHECK(c.error().message().rfind("--console", 0) == 0);
}

TEST_CASE("parse_console refuses garbage naming --console and the value") {
  for (const char* spec : {"", "tty", "STDIO", "file", "stdio ", "pty:/dev/pts/1"}) {
    CAPTURE(spec);
    auto c = parse_console(spec);
    REQUIRE_FALSE(c.has_value());
    CHECK(c.error().code() == ErrorCode::invalid_config);
    CHECK(c.error().message().rfind("--console", 0) == 0);
    CHECK(c.error().message().find(std::string("'") + spec + "'") != std::string::npos);
  }
}

TEST_CASE("to_machine_config copies every field") {
  RunOptions o;
  o.kernel = "/k/vmlinux";
  o.initrd = "/k/initrd";
  o.cmdline = "console=ttyS0 quiet";
  o.vcpus = 4;
  o.memory_mib = 512;
  o.console = "file:/tmp/c.log";
  auto m = to_machine_config(o);
  REQUIRE(m.has_value());
  CHECK(m->kernel_path == "/k/vmlinux");
  CHECK(m->initrd_path == "/k/initrd");
  CHECK(m->cmdline == "console=ttyS0 quiet");
  CHECK(m->vcpus == 4);
  CHECK(m->memory_mib == 512);
  CHECK(m->console.output == ConsoleConfig::Output::file);
  CHECK(m->console.path == "/tmp/c.log");
}

TEST_CASE("to_machine_config propagates a bad --console") {
  RunOptions o;
  o.kernel = "k";
  o.console = "serial";
  auto m = to_machine_config(o);
  REQUIRE_FALSE(m.has_value());
  CHECK(m.error().message().find("--console") != std::string::npos);
}

TEST_CASE("command-line parsing without --kernel succeeds (a --config file may name it)") {
  RunOptions o;
  CHECK(parse(o, "--vcpus 2") == "");
  CHECK(o.kernel.empty());
}

TEST_CASE("command-line parsing records exactly the options given") {
  RunOptions o;
  REQUIRE(parse(o,
                "--kernel k --memory 300 --disk a.img --disk b.img --boot-timing "
                "--config vm.json --print-config") == "");
  CHECK(o.given == std::set<std::string>{"--kernel", "--memory", "--disk", "--boot-timing",
                                         "--config", "--print-config"});
  CHECK(o.config == "vm.json");
  CHECK(o.print_config);
}

TEST_CASE("a second parse of the same options forgets the first one's given options") {
  RunOptions o;
  CLI::App app("test");
  add_run_options(app, o);
  app.parse(std::string("--vcpus 2"), false);
  CHECK(o.given == std::set<std::string>{"--vcpus"});
  app.clear();
  app.parse(std::string("--memory 64"), false);
  CHECK(o.given == std::set<std::string>{"--memory"});
}

TEST_CASE("command-line parsing of a non-numeric --vcpus fails") {
  RunOptions o;
  CHECK_FALSE(parse(o, "--kernel k --vcpus abc").empty());
}

TEST_CASE("command-line parsing of a non-numeric --memory fails") {
  RunOptions o;
  CHECK_FALSE(parse(o, "--kernel k --memory 1G").empty());
}

TEST_CASE("command-line parsing of an unknown --log-level fails") {
  RunOptions o;
  CHECK_FALSE(parse(o, "--kernel k --log-level loud").empty());
}

TEST_CASE("command-line parsing of an unknown option fails") {
  RunOptions o;
  CHECK_FALSE(parse(o, "--kernel k --no-such-option x").empty());
}

TEST_CASE("command-line parsing with only --kernel keeps the defaults") {
  RunOptions o;
  REQUIRE(parse(o, "--kernel /boot/vmlinux") == "");
  CHECK(o.kernel == "/boot/vmlinux");
  CHECK(o.initrd.empty());
  CHECK(o.cmdline == "console=ttyS0 reboot=k panic=-1");
  CHECK(o.vcpus == 1);
  CHECK(o.memory_mib == 128);
  CHECK(o.console == "stdio");
  CHECK(o.log_level == "info");
}

TEST_CASE("command-line parsing stores every option") {
  RunOptions o;
  REQUIRE(parse(o,
                "--kernel k --initrd i --cmdline \"console=ttyS0 init=/bin/sh\" --vcpus 3 "
                "--memory 256 --console none --log-level debug") == "");
  CHECK(o.kernel == "k");
  CHECK(o.initrd == "i");
  CHECK(o.cmdline == "console=ttyS0 init=/bin/sh");
  CHECK(o.vcpus == 3);
  CHECK(o.memory_mib == 256);
  CHECK(o.console == "none");
  CHECK(o.log_level == "debug");
  auto m = to_machine_config(o);
  REQUIRE(m.has_value());
  CHECK(m->console.output == ConsoleConfig::Output::none);
}

TEST_CASE("command-line parsing of a negative --vcpus fails") {
  RunOptions o;
  CHECK_FALSE(parse(o, "--kernel k --vcpus -1").empty());
}

TEST_CASE("parse_disk reads the path, ro and serial") {
  auto d = parse_disk("/img/a.raw,ro,serial=abc", "--disk");
  REQUIRE(d.has_value());
  CHECK(d->path == "/img/a.raw");
  CHECK(d->read_only);
  CHECK(d->serial == "abc");
  CHECK_FALSE(d->root);
}

TEST_CASE("parse_disk refuses unknown options and an empty path, naming the option") {
  auto bad = parse_disk("a.raw,rw", "--disk");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message().find("--disk") != std::string::npos);
  CHECK_FALSE(parse_disk(",ro", "--disk").has_value());
  CHECK_FALSE(parse_disk("", "--disk").has_value());
}

TEST_CASE("--rootfs accepts ro but not serial") {
  CHECK(parse_disk("root.img,ro", "--rootfs").has_value());
  CHECK_FALSE(parse_disk("root.img,serial=x", "--rootfs").has_value());
}

TEST_CASE("--rootfs becomes the first disk, marked root, before the --disk disks") {
  RunOptions o;
  REQUIRE(parse(o, "--kernel k --disk b.img --rootfs r.img,ro --disk c.img,serial=s") == "");
  auto m = to_machine_config(o);
  REQUIRE(m.has_value());
  REQUIRE(m->disks.size() == 3);
  CHECK(m->disks[0].path == "r.img");
  CHECK(m->disks[0].root);
  CHECK(m->disks[0].read_only);
  CHECK(m->disks[1].path == "b.img");
  CHECK(m->disks[2].serial == "s");
}

TEST_CASE("--net, --vsock, --fs, --share and --rootfs-dir reach the machine config in order") {
  RunOptions o;
  REQUIRE(parse(o,
                "--kernel k --net tap=t0 --net fd=5,mtu=9000 --vsock cid=7,uds=/v.sock "
                "--fs tag=ext,socket=/fs.sock --share tag=src,dir=/src,ro --rootfs-dir /root "
                "--virtiofsd /opt/virtiofsd") == "");
  auto m = to_machine_config(o);
  REQUIRE(m.has_value());
  REQUIRE(m->nets.size() == 2);
  CHECK(m->nets[0].tap_name == "t0");
  CHECK(m->nets[1].tap_fd == 5);
  CHECK(m->nets[1].mtu == 9000);
  REQUIRE(m->vsock.has_value());
  CHECK(m->vsock->guest_cid == 7);
  CHECK(m->vsock->uds_path == "/v.sock");
  REQUIRE(m->fs.size() == 1);
  CHECK(m->fs[0].tag == "ext");
  REQUIRE(m->shares.size() == 2);
  CHECK(m->shares[0].tag == "rootfs");
  CHECK(m->shares[0].dir == "/root");
  CHECK(m->shares[0].root);
  CHECK(m->shares[1].tag == "src");
  CHECK(m->shares[1].read_only);
  CHECK_FALSE(m->shares[1].root);
  for (const auto& s : m->shares) CHECK(s.virtiofsd_path == "/opt/virtiofsd");
}

TEST_CASE("a bad --net value is an error naming --net") {
  RunOptions o;
  REQUIRE(parse(o, "--kernel k --net tap=t0,bogus=1") == "");
  auto m = to_machine_config(o);
  REQUIRE_FALSE(m.has_value());
  CHECK(m.error().message().find("--net") != std::string::npos);
}

}  // namespace
}  // namespace minivmm::cli

namespace minivmm::cli {
namespace {

TEST_CASE("--boot-timing alone means text, =json selects json, absent leaves it off") {
  RunOptions off;
  CHECK(parse(off, "--kernel k") == "");
  CHECK(off.boot_timing.empty());
  RunOptions text;
  CHECK(parse(text, "--kernel k --boot-timing") == "");
  CHECK(text.boot_timing == "text");
  RunOptions json;
  CHECK(parse(json, "--kernel k --boot-timing=json") == "");
  CHECK(json.boot_timing == "json");
}

TEST_CASE("--exit-on-marker keeps its text for the CLI to validate") {
  RunOptions o;
  CHECK(parse(o, "--kernel k --exit-on-marker 0x41") == "");
  CHECK(o.exit_on_marker == "0x41");
}

}  // namespace
}  // namespace minivmm::cli
