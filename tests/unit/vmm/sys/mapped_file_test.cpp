// Unit tests of MappedFile: a regular file maps with exactly its bytes; a directory is refused as
// invalid_config, an empty file as invalid_image, and a missing file as an errno error (ENOENT);
// every error names the path. Files live in a private temp directory removed after each test.
#include "vmm/sys/mapped_file.hpp"

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "tests/support/temp_dir.hpp"

namespace minivmm {
namespace {

namespace fs = std::filesystem;

using test::TempDir;

void write_file(const fs::path& p, const std::vector<uint8_t>& data) {
  std::ofstream f(p, std::ios::binary);
  f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

TEST_CASE("a regular file maps with exactly its bytes") {
  TempDir dir;
  std::vector<uint8_t> data(10000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 31);
  write_file(dir.path() / "kernel", data);
  auto m = MappedFile::open((dir.path() / "kernel").string());
  REQUIRE_MESSAGE(m.has_value(), (m ? std::string() : m.error().message()));
  REQUIRE(m->bytes().size() == data.size());
  CHECK(std::vector<uint8_t>(m->bytes().begin(), m->bytes().end()) == data);
}

TEST_CASE("a one-byte file maps") {
  TempDir dir;
  write_file(dir.path() / "one", {0x7f});
  auto m = MappedFile::open((dir.path() / "one").string());
  REQUIRE(m.has_value());
  REQUIRE(m->bytes().size() == 1);
  CHECK(m->bytes()[0] == 0x7f);
}

TEST_CASE("the mapping outlives moves of the MappedFile") {
  TempDir dir;
  write_file(dir.path() / "f", {1, 2, 3});
  auto m = MappedFile::open((dir.path() / "f").string());
  REQUIRE(m.has_value());
  MappedFile moved = std::move(*m);
  CHECK(std::vector<uint8_t>(moved.bytes().begin(), moved.bytes().end()) ==
        std::vector<uint8_t>{1, 2, 3});
}

TEST_CASE("a directory is refused as invalid_config naming the path") {
  TempDir dir;
  auto m = MappedFile::open(dir.path().string());
  REQUIRE_FALSE(m.has_value());
  CHECK(m.error().code() == ErrorCode::invalid_config);
  CHECK(m.error().message().find(dir.path().string()) != std::string::npos);
}

TEST_CASE("a character device is refused as invalid_config") {
  auto m = MappedFile::open("/dev/null");
  REQUIRE_FALSE(m.has_value());
  CHECK(m.error().code() == ErrorCode::invalid_config);
  CHECK(m.error().message().find("/dev/null") != std::string::npos);
}

TEST_CASE("an empty file is refused as invalid_image naming the path") {
  TempDir dir;
  write_file(dir.path() / "empty", {});
  auto m = MappedFile::open((dir.path() / "empty").string());
  REQUIRE_FALSE(m.has_value());
  CHECK(m.error().code() == ErrorCode::invalid_image);
  CHECK(m.error().message().find((dir.path() / "empty").string()) != std::string::npos);
}

TEST_CASE("a missing file is an ENOENT errno error naming the path") {
  TempDir dir;
  const std::string p = (dir.path() / "nope").string();
  auto m = MappedFile::open(p);
  REQUIRE_FALSE(m.has_value());
  CHECK(m.error().code() == std::errc::no_such_file_or_directory);
  CHECK(m.error().code().category() == std::system_category());
  CHECK(m.error().message().find(p) != std::string::npos);
}

}  // namespace
}  // namespace minivmm
