// Tests of sandbox-run's command line (examples/sandbox/host/options.cpp).
#include "examples/sandbox/host/options.hpp"

#include <algorithm>
#include <vector>

#include <doctest/doctest.h>

using namespace sandbox;

namespace {

ParseOutcome parse(std::vector<const char*> args, const char* kernel = "/k/vmlinux") {
  args.insert(args.begin(), "sandbox-run");
  return parse_options(static_cast<int>(args.size()), args.data(), kernel, "/opt/bin");
}

}  // namespace

TEST_CASE("the issue's example parses with defaults") {
  auto o = parse({"--rootfs-dir", "./rootfs", "--", "/bin/sh", "-c", "echo hi; exit 3"});
  REQUIRE(o.kind == ParseOutcome::Kind::run);
  CHECK(o.options.command == std::vector<std::string>{"/bin/sh", "-c", "echo hi; exit 3"});
  CHECK(o.options.kernel == "/k/vmlinux");
  CHECK(o.options.agent == "/opt/bin/minivmm-agent");
  CHECK(o.options.memory_mib == 256);
  CHECK(o.options.vcpus == 1);
  CHECK(o.options.parallel == 1);
  CHECK(o.options.workdir == "/");
}

TEST_CASE("options before a command without -- stop at the command") {
  auto o = parse({"--rootfs", "r.img", "--memory", "512", "--vcpus", "2", "--timing", "ls", "-l"});
  REQUIRE(o.kind == ParseOutcome::Kind::run);
  CHECK(o.options.command == std::vector<std::string>{"ls", "-l"});
  CHECK(o.options.memory_mib == 512);
  CHECK(o.options.vcpus == 2);
  CHECK(o.options.timing);
}

TEST_CASE("--kernel overrides MINIVMM_KERNEL, env and workdir are kept") {
  auto o = parse({"--kernel", "/x", "--rootfs-dir", "r", "-e", "A=1", "--env", "B=2", "-w", "/tmp",
                  "--parallel", "4", "--", "env"});
  REQUIRE(o.kind == ParseOutcome::Kind::run);
  CHECK(o.options.kernel == "/x");
  CHECK(o.options.env == std::vector<std::string>{"A=1", "B=2"});
  CHECK(o.options.workdir == "/tmp");
  CHECK(o.options.parallel == 4);
}

TEST_CASE("bad command lines give one error line") {
  struct Case {
    std::vector<const char*> args;
    const char* kernel;
    const char* why;
  } cases[] = {
      {{"--rootfs-dir", "r"}, "/k", "no command"},
      {{"--rootfs-dir", "r", "--"}, "/k", "no command"},
      {{"--", "ls"}, "/k", "exactly one of"},
      {{"--rootfs-dir", "r", "--rootfs", "i", "--", "ls"}, "/k", "exactly one of"},
      {{"--rootfs-dir", "r", "--", "ls"}, nullptr, "MINIVMM_KERNEL"},
      {{"--rootfs-dir", "r", "--memory", "0", "--", "ls"}, "/k", "--memory 0"},
      {{"--rootfs-dir", "r", "--vcpus", "0", "--", "ls"}, "/k", "--vcpus 0"},
      {{"--rootfs-dir", "r", "--parallel", "0", "--", "ls"}, "/k", "--parallel 0"},
      {{"--rootfs-dir", "r", "-e", "NOVALUE", "--", "ls"}, "/k", "NAME=VALUE"},
      {{"--rootfs-dir", "r", "-w", "rel", "--", "ls"}, "/k", "absolute"},
      {{"--rootfs-dir", "r", "--bogus", "ls"}, "/k", "unknown option --bogus"},
      {{"--rootfs-dir", "r", "--memory", "lots", "--", "ls"}, "/k", "memory"},
  };
  for (auto& c : cases) {
    auto o = parse(c.args, c.kernel);
    CAPTURE(c.why);
    REQUIRE(o.kind == ParseOutcome::Kind::error);
    CHECK(o.text.find(c.why) != std::string::npos);
    CHECK(o.text.find('\n') == std::string::npos);
  }
}

TEST_CASE("--help is not an error") {
  auto o = parse({"--help"});
  CHECK(o.kind == ParseOutcome::Kind::help);
  CHECK(o.text.find("--rootfs-dir") != std::string::npos);
}

TEST_CASE("the command environment has defaults that --env overrides by name") {
  auto env = command_environment({"PATH=/x", "FOO=bar"});
  CHECK(std::count(env.begin(), env.end(), "PATH=/x") == 1);
  CHECK(std::find_if(env.begin(), env.end(), [](auto& e) { return e.starts_with("PATH=/usr"); }) ==
        env.end());
  CHECK(std::find(env.begin(), env.end(), "FOO=bar") != env.end());
  CHECK(std::find(env.begin(), env.end(), "HOME=/root") != env.end());
}
