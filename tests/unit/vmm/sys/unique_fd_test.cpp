// Unit tests of UniqueFd: it closes its descriptor on destruction, on reset() and when
// move-assigned over; release() gives the descriptor up without closing; moves transfer
// ownership and leave the source empty. "Closed" is observed with fcntl(F_GETFD) == EBADF.
#include "vmm/sys/unique_fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include <doctest/doctest.h>

namespace minivmm {
namespace {

bool is_open(int fd) {
  return ::fcntl(fd, F_GETFD) != -1;
}

int new_fd() {
  int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  return fd;
}

TEST_CASE("a default UniqueFd is invalid") {
  UniqueFd f;
  CHECK_FALSE(f.valid());
  CHECK_FALSE(static_cast<bool>(f));
  CHECK(f.get() == -1);
}

TEST_CASE("destruction closes the descriptor") {
  int fd = new_fd();
  {
    UniqueFd f(fd);
    CHECK(f.valid());
    CHECK(f.get() == fd);
  }
  CHECK_FALSE(is_open(fd));
  CHECK(errno == EBADF);
}

TEST_CASE("reset closes the old descriptor and takes the new one") {
  int a = new_fd();
  int b = new_fd();
  UniqueFd f(a);
  f.reset(b);
  CHECK_FALSE(is_open(a));
  CHECK(is_open(b));
  CHECK(f.get() == b);
  f.reset();
  CHECK_FALSE(is_open(b));
  CHECK_FALSE(f.valid());
}

TEST_CASE("release gives up ownership without closing") {
  int fd = new_fd();
  {
    UniqueFd f(fd);
    CHECK(f.release() == fd);
    CHECK_FALSE(f.valid());
  }
  CHECK(is_open(fd));
  ::close(fd);
}

TEST_CASE("move construction transfers ownership") {
  int fd = new_fd();
  UniqueFd a(fd);
  UniqueFd b(std::move(a));
  CHECK_FALSE(a.valid());  // NOLINT(bugprone-use-after-move)
  CHECK(b.get() == fd);
  CHECK(is_open(fd));
}

TEST_CASE("move assignment closes the target's descriptor and takes the source's") {
  int a_fd = new_fd();
  int b_fd = new_fd();
  UniqueFd a(a_fd);
  UniqueFd b(b_fd);
  b = std::move(a);
  CHECK_FALSE(is_open(b_fd));
  CHECK(is_open(a_fd));
  CHECK(b.get() == a_fd);
  CHECK_FALSE(a.valid());  // NOLINT(bugprone-use-after-move)
}

TEST_CASE("self move assignment keeps the descriptor open") {
  int fd = new_fd();
  UniqueFd a(fd);
  UniqueFd& alias = a;
  a = std::move(alias);
  CHECK(a.get() == fd);
  CHECK(is_open(fd));
}

}  // namespace
}  // namespace minivmm
