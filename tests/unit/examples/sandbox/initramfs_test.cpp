// Tests of the newc cpio writer (examples/sandbox/host/initramfs.cpp), checked against the
// format and, when the host has it, against cpio(1) itself.
#include "examples/sandbox/host/initramfs.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include <doctest/doctest.h>

using namespace sandbox;

namespace {

unsigned long field(const std::string& a, size_t entry_offset, int index) {
  return std::stoul(a.substr(entry_offset + 6 + 8 * static_cast<size_t>(index), 8), nullptr, 16);
}

}  // namespace

TEST_CASE("an entry has the newc magic, its sizes and 4-byte padding") {
  CpioWriter w;
  w.add_file("init", "abcde", 0755);
  auto a = w.finish();
  REQUIRE(a.substr(0, 6) == "070701");
  CHECK(field(a, 0, 1) == 0100755);  // mode
  CHECK(field(a, 0, 6) == 5);        // filesize
  CHECK(field(a, 0, 11) == 5);       // namesize "init\0"
  // 110 + 5 = 115 -> padded to 116; data 5 -> padded to 8.
  CHECK(a.substr(110, 5) == std::string("init\0", 5));
  CHECK(a.substr(116, 5) == "abcde");
  CHECK(a.substr(124, 6) == "070701");
  CHECK(a.find("TRAILER!!!") == 124 + 110);
  CHECK(a.size() % 4 == 0);
}

TEST_CASE("a character device carries its rdev numbers") {
  CpioWriter w;
  w.add_char_device("dev/console", 5, 1, 0600);
  auto a = w.finish();
  CHECK(field(a, 0, 1) == 020600);
  CHECK(field(a, 0, 9) == 5);
  CHECK(field(a, 0, 10) == 1);
}

TEST_CASE("cpio(1) lists the agent initramfs") {
  if (std::system("command -v cpio >/dev/null 2>&1") != 0)
    return;  // tool absent: format checks above
  auto a = make_agent_initramfs(std::string(1001, 'A'));
  std::string path = "/tmp/sandbox-initramfs-test-" + std::to_string(::getpid()) + ".cpio";
  std::ofstream(path, std::ios::binary) << a;
  std::string cmd = "cpio -it --quiet < " + path + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p);
  std::string out;
  char buf[256];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  CHECK(::pclose(p) == 0);
  std::remove(path.c_str());
  CHECK(out == "dev\nproc\nsys\nnewroot\ndev/console\ninit\n");
}
