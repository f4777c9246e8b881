// Unit tests of the vsock Unix-socket helpers: path length limits with room for the port suffix,
// UnixListener replacing stale sockets, refusing other files, and unlinking only its own file,
// and connect_unix's outcomes (connected, no such file, nobody listening, path too long).
#include "devices/vsock/vsock_unix.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>

#include "tests/support/temp_dir.hpp"

namespace minivmm::vsock {
namespace {

TEST_SUITE_BEGIN("vsock/unix");

using minivmm::test::TempDir;

bool is_socket(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

TEST_CASE("the path limit leaves room for _<u32 port> and the NUL") {
  CHECK(max_uds_path_length() == sizeof(sockaddr_un::sun_path) - 1 - 11);
  CHECK(port_path("/run/v.sock", 4294967295u) == "/run/v.sock_4294967295");
  CHECK(port_path("/run/v.sock", 0) == "/run/v.sock_0");
}

TEST_CASE("bind creates a listening socket and unlinks it on destruction") {
  TempDir dir;
  const std::string path = (dir.path() / "l").string();
  {
    auto l = UnixListener::bind(path, 4);
    REQUIRE(l.has_value());
    CHECK(is_socket(path));
    CHECK(l->path() == path);
    int err = 0;
    UniqueFd c = connect_unix(path, err);
    CHECK(c);
    CHECK(err == 0);
  }
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("bind replaces a stale socket file") {
  TempDir dir;
  const std::string path = (dir.path() / "l").string();
  auto first = UnixListener::bind(path, 4);
  REQUIRE(first.has_value());
  auto second = UnixListener::bind(path, 4);
  REQUIRE(second.has_value());
  int err = 0;
  UniqueFd c = connect_unix(path, err);
  REQUIRE(c);
  UniqueFd accepted(::accept4(second->fd(), nullptr, nullptr, SOCK_NONBLOCK));
  CHECK(accepted);
}

TEST_CASE("bind refuses a regular file, a directory and a symlink, leaving them alone") {
  TempDir dir;
  const std::string file = (dir.path() / "f").string();
  std::ofstream(file) << "data";
  const std::string sub = (dir.path() / "d").string();
  std::filesystem::create_directory(sub);
  const std::string link = (dir.path() / "s").string();
  std::filesystem::create_symlink(file, link);
  for (const std::string& p : {file, sub, link}) {
    CAPTURE(p);
    auto l = UnixListener::bind(p, 4);
    REQUIRE_FALSE(l.has_value());
    CHECK(l.error().code() == make_error_code(ErrorCode::invalid_config));
    CHECK(l.error().message() == "vsock uds " + p + " exists and is not a socket");
    CHECK(std::filesystem::exists(std::filesystem::symlink_status(p)));
  }
}

TEST_CASE("bind refuses empty and too long paths, and fails in a missing directory") {
  CHECK_FALSE(UnixListener::bind("", 4).has_value());
  TempDir dir;
  std::string longest = (dir.path() / "").string();
  longest += std::string(max_uds_path_length() - longest.size(), 'a');
  {
    auto ok = UnixListener::bind(longest, 4);
    CHECK_MESSAGE(ok.has_value(), (ok ? std::string() : ok.error().message()));
  }
  auto too_long = UnixListener::bind(longest + "a", 4);
  REQUIRE_FALSE(too_long.has_value());
  CHECK(too_long.error().code() == make_error_code(ErrorCode::invalid_config));
  auto missing = UnixListener::bind((dir.path() / "no" / "such").string(), 4);
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code().value() == ENOENT);
}

TEST_CASE("the destructor does not unlink a file that replaced the socket") {
  TempDir dir;
  const std::string path = (dir.path() / "l").string();
  {
    auto l = UnixListener::bind(path, 4);
    REQUIRE(l.has_value());
    std::filesystem::remove(path);
    std::ofstream(path) << "someone else's";
  }
  CHECK(std::filesystem::is_regular_file(path));
}

TEST_CASE("a moved listener unlinks once, from its new owner") {
  TempDir dir;
  const std::string a = (dir.path() / "a").string();
  const std::string b = (dir.path() / "b").string();
  auto la = UnixListener::bind(a, 4);
  auto lb = UnixListener::bind(b, 4);
  REQUIRE(la.has_value());
  REQUIRE(lb.has_value());
  {
    UnixListener moved(std::move(*la));
    CHECK(is_socket(a));
    *lb = std::move(moved);  // b's socket goes away, a now belongs to *lb
    CHECK_FALSE(std::filesystem::exists(b));
    CHECK(is_socket(a));
  }
  CHECK(is_socket(a));
  lb = tl::unexpected(Error({}, ""));  // destroys the listener holding a
  CHECK_FALSE(std::filesystem::exists(a));
}

TEST_CASE("connect_unix reports ENOENT, ECONNREFUSED and ENAMETOOLONG") {
  TempDir dir;
  int err = 0;
  CHECK_FALSE(connect_unix((dir.path() / "none").string(), err));
  CHECK(err == ENOENT);
  // A socket file nobody listens on.
  const std::string stale = (dir.path() / "stale").string();
  {
    UniqueFd s(::socket(AF_UNIX, SOCK_STREAM, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, stale.data(), stale.size());
    REQUIRE(::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  }
  CHECK_FALSE(connect_unix(stale, err));
  CHECK(err == ECONNREFUSED);
  CHECK_FALSE(connect_unix(std::string(200, 'x'), err));
  CHECK(err == ENAMETOOLONG);
}

TEST_SUITE_END();

}  // namespace
}  // namespace minivmm::vsock
