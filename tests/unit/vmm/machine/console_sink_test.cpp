// Unit tests of ConsoleSink: none discards; file appends to the given path (in a private temp
// directory) and creates it if missing; a file in a nonexistent directory fails naming the path;
// callback receives the exact bytes; write errors are counted as dropped. The 256 MiB file cap is
// checked against /dev/null, which opens as a "file" sink but costs no disk space.
#include "vmm/machine/console_sink.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "tests/support/temp_dir.hpp"

namespace minivmm {
namespace {

namespace fs = std::filesystem;

using test::TempDir;

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

ConsoleSink make(const ConsoleConfig& c) {
  auto s = ConsoleSink::create(c);
  REQUIRE_MESSAGE(s.has_value(), (s ? std::string() : s.error().message()));
  return std::move(*s);
}

ConsoleConfig file_config(const fs::path& p) {
  ConsoleConfig c;
  c.output = ConsoleConfig::Output::file;
  c.path = p.string();
  return c;
}

TEST_CASE("a none sink discards output without counting it as dropped") {
  ConsoleConfig c;
  c.output = ConsoleConfig::Output::none;
  ConsoleSink s = make(c);
  s.write(bytes("hello"));
  CHECK(s.dropped() == 0);
}

TEST_CASE("a file sink creates the file and writes the bytes") {
  TempDir dir;
  const fs::path p = dir.path() / "console.log";
  ConsoleSink s = make(file_config(p));
  CHECK(fs::exists(p));
  s.write(bytes("boot\n"));
  s.write(bytes("login: "));
  CHECK(slurp(p) == "boot\nlogin: ");
  CHECK(s.dropped() == 0);
}

TEST_CASE("a file sink appends to an existing file") {
  TempDir dir;
  const fs::path p = dir.path() / "console.log";
  {
    std::ofstream f(p, std::ios::binary);
    f << "previous run\n";
  }
  ConsoleSink s = make(file_config(p));
  s.write(bytes("new run\n"));
  CHECK(slurp(p) == "previous run\nnew run\n");
}

TEST_CASE("a file sink writes binary bytes including NUL unchanged") {
  TempDir dir;
  const fs::path p = dir.path() / "console.log";
  ConsoleSink s = make(file_config(p));
  const std::vector<uint8_t> in{0, 0xff, '\r', '\n', 0x1b, 0};
  s.write(in);
  const std::string got = slurp(p);
  CHECK(std::vector<uint8_t>(got.begin(), got.end()) == in);
}

TEST_CASE("many small writes to a file sink are all kept and none dropped") {
  TempDir dir;
  const fs::path p = dir.path() / "console.log";
  ConsoleSink s = make(file_config(p));
  std::string expect;
  for (int i = 0; i < 1000; ++i) {
    std::string chunk = std::to_string(i) + ",";
    s.write(bytes(chunk));
    expect += chunk;
  }
  CHECK(slurp(p) == expect);
  CHECK(s.dropped() == 0);
}

TEST_CASE("a file in a nonexistent directory fails with an error naming the path") {
  TempDir dir;
  const fs::path p = dir.path() / "missing" / "console.log";
  auto s = ConsoleSink::create(file_config(p));
  REQUIRE_FALSE(s.has_value());
  CHECK(s.error().code() == std::errc::no_such_file_or_directory);
  CHECK(s.error().message().find(p.string()) != std::string::npos);
}

TEST_CASE("a callback sink receives the exact bytes of each write") {
  std::vector<std::string> got;
  ConsoleConfig c;
  c.output = ConsoleConfig::Output::callback;
  c.on_output = [&](std::string_view v) { got.emplace_back(v); };
  ConsoleSink s = make(c);
  s.write(bytes("abc"));
  const std::string binary("\0\xff\n", 3);
  s.write(bytes(binary));
  REQUIRE(got.size() == 2);
  CHECK(got[0] == "abc");
  CHECK(got[1] == binary);
  CHECK(s.dropped() == 0);
}

TEST_CASE("a callback sink without a function is refused") {
  ConsoleConfig c;
  c.output = ConsoleConfig::Output::callback;
  auto s = ConsoleSink::create(c);
  REQUIRE_FALSE(s.has_value());
  CHECK(s.error().code() == ErrorCode::invalid_config);
  CHECK(s.error().message().find("console") != std::string::npos);
}

TEST_CASE("a stdio sink can be created") {
  ConsoleConfig c;
  c.output = ConsoleConfig::Output::stdio;
  CHECK(ConsoleSink::create(c).has_value());
}

TEST_CASE("bytes the file refuses (ENOSPC) are counted as dropped") {
  if (::access("/dev/full", W_OK) != 0) return;
  ConsoleSink s = make(file_config("/dev/full"));
  s.write(bytes("0123456789"));
  CHECK(s.dropped() == 10);
  s.write(bytes("ab"));
  CHECK(s.dropped() == 12);
}

TEST_CASE("a file sink accepts exactly kMaxFileBytes and drops everything after") {
  // /dev/null opens like a regular file sink; the cap counts bytes, not the file's size.
  ConsoleSink s = make(file_config("/dev/null"));
  const std::vector<uint8_t> mib(1 << 20, 'x');
  for (uint64_t i = 0; i < ConsoleSink::kMaxFileBytes / mib.size(); ++i) s.write(mib);
  CHECK(s.dropped() == 0);
  s.write(bytes("y"));
  CHECK(s.dropped() == 1);
  s.write(bytes("zz"));
  CHECK(s.dropped() == 3);
}

TEST_CASE("a write crossing the file cap is dropped whole") {
  ConsoleSink s = make(file_config("/dev/null"));
  const std::vector<uint8_t> mib(1 << 20, 'x');
  for (uint64_t i = 0; i < ConsoleSink::kMaxFileBytes / mib.size() - 1; ++i) s.write(mib);
  s.write(std::span<const uint8_t>(mib).first(mib.size() - 10));
  CHECK(s.dropped() == 0);
  s.write(std::span<const uint8_t>(mib).first(20));
  CHECK(s.dropped() == 20);
}

TEST_CASE("moving a sink keeps its dropped count") {
  if (::access("/dev/full", W_OK) != 0) return;
  ConsoleSink a = make(file_config("/dev/full"));
  a.write(bytes("lost"));
  REQUIRE(a.dropped() == 4);
  ConsoleSink b(std::move(a));
  CHECK(b.dropped() == 4);
}

TEST_CASE("moving a sink keeps its byte count toward the file cap") {
  ConsoleSink a = make(file_config("/dev/null"));
  const std::vector<uint8_t> mib(1 << 20, 'x');
  for (uint64_t i = 0; i < ConsoleSink::kMaxFileBytes / mib.size(); ++i) a.write(mib);
  ConsoleSink b(std::move(a));
  b.write(bytes("y"));
  CHECK(b.dropped() == 1);
}

}  // namespace
}  // namespace minivmm
