// Unit tests of Error and its helpers: message() is the bare context for minivmm's own codes and
// "context: strerror" for errno codes; with_context prefixes outer context and keeps the code;
// errno_error captures errno at the call and errno_error_value takes it explicitly; make_error
// uses the minivmm category, whose name and messages are fixed; MINIVMM_TRY propagates.
#include "vmm/sys/error.hpp"

#include <cerrno>
#include <cstring>
#include <string>

#include <doctest/doctest.h>

namespace minivmm {
namespace {

TEST_CASE("make_error uses the minivmm category with the given code and formatted context") {
  auto u = make_error(ErrorCode::guest_layout, "initrd {} bytes at {:#x}", 42, 0x1000);
  const Error& e = u.value();
  CHECK(&e.code().category() == &minivmm_category());
  CHECK(e.code() == ErrorCode::guest_layout);
  CHECK(e.code().value() == static_cast<int>(ErrorCode::guest_layout));
  CHECK(e.context() == "initrd 42 bytes at 0x1000");
}

TEST_CASE("message of a minivmm error is its context alone") {
  Error e = make_error(ErrorCode::invalid_config, "vcpus: 0 is outside 1..254").value();
  CHECK(e.message() == "vcpus: 0 is outside 1..254");
}

TEST_CASE("message of an errno error appends the system message") {
  Error e(std::error_code(ENOENT, std::system_category()), "open /x");
  CHECK(e.message() == std::string("open /x: ") + std::strerror(ENOENT));
}

TEST_CASE("errno_error captures the current errno and formats the context") {
  errno = EACCES;
  Error e = errno_error("open {}", "/root/k").value();
  CHECK(e.code() == std::errc::permission_denied);
  CHECK(e.code().category() == std::system_category());
  CHECK(e.context() == "open /root/k");
  CHECK(e.message() == std::string("open /root/k: ") + std::strerror(EACCES));
}

TEST_CASE("errno_error_value uses the given errno, not the current one") {
  errno = 0;
  Error e = errno_error_value(EIO, "io_uring write len={}", 512).value();
  CHECK(e.code().value() == EIO);
  CHECK(e.context() == "io_uring write len=512");
}

TEST_CASE("with_context prefixes the outer context and keeps the code") {
  Error inner = errno_error_value(ENOMEM, "mmap size=0x1000").value();
  Error outer = with_context(inner, "loading kernel");
  CHECK(outer.code() == inner.code());
  CHECK(outer.context() == "loading kernel: mmap size=0x1000");
  CHECK(outer.message() ==
        std::string("loading kernel: mmap size=0x1000: ") + std::strerror(ENOMEM));
}

TEST_CASE("with_context nests") {
  Error e = make_error(ErrorCode::invalid_image, "bad magic").value();
  e = with_context(with_context(e, "bzImage"), "kernel /k");
  CHECK(e.message() == "kernel /k: bzImage: bad magic");
  CHECK(e.code() == ErrorCode::invalid_image);
}

TEST_CASE("the minivmm category has a name and a message for every code") {
  const auto& cat = minivmm_category();
  CHECK(std::string(cat.name()) == "minivmm");
  CHECK(cat.message(static_cast<int>(ErrorCode::invalid_config)) == "invalid configuration");
  CHECK(cat.message(static_cast<int>(ErrorCode::invalid_image)) == "invalid image");
  CHECK(cat.message(static_cast<int>(ErrorCode::unsupported)) == "not supported by this host");
  CHECK(cat.message(static_cast<int>(ErrorCode::guest_layout)) == "does not fit guest memory");
  CHECK(cat.message(static_cast<int>(ErrorCode::timeout)) == "timed out");
  CHECK(cat.message(static_cast<int>(ErrorCode::invalid_state)) == "invalid state");
  CHECK(cat.message(0) == "unknown minivmm error");
  CHECK(cat.message(999) == "unknown minivmm error");
}

TEST_CASE("ErrorCode converts implicitly to an error_code of the minivmm category") {
  std::error_code ec = ErrorCode::timeout;
  CHECK(&ec.category() == &minivmm_category());
  CHECK(ec.message() == "timed out");
  CHECK(ec != std::error_code(static_cast<int>(ErrorCode::timeout), std::generic_category()));
}

Result<int> half(int v) {
  if (v % 2) return make_error(ErrorCode::invalid_config, "{} is odd", v);
  return v / 2;
}

Result<int> quarter(int v) {
  MINIVMM_TRY(h, half(v));
  MINIVMM_TRY(q, half(h));
  return q;
}

Result<void> check_even(int v) {
  MINIVMM_TRY_VOID(half(v));
  return {};
}

TEST_CASE("MINIVMM_TRY yields the value or propagates the first error") {
  CHECK(quarter(8) == 2);
  auto r = quarter(6);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message() == "3 is odd");
  CHECK(check_even(4).has_value());
  CHECK_FALSE(check_even(5).has_value());
}

}  // namespace
}  // namespace minivmm
