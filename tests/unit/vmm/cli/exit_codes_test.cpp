// Unit tests of the documented exit codes: every ErrorCode and the errno values a user causes
// (ENOENT, EACCES, EISDIR, ENOTDIR) versus those the host causes (ENOMEM, ENODEV...) map to the
// right setup exit code, and every ExitReason maps to the right run exit code.
#include "vmm/cli/exit_codes.hpp"

#include <cerrno>

#include <doctest/doctest.h>

#include "vmm/sys/error.hpp"

namespace minivmm::cli {
namespace {

int code_for(ErrorCode c) {
  return exit_code_for(make_error(c, "x").value());
}
int code_for_errno(int e) {
  return exit_code_for(errno_error_value(e, "x").value());
}
int code_for(ExitReason r) {
  return exit_code_for(ExitStatus{r, ""});
}

TEST_CASE("the exit code values match the README") {
  CHECK(kExitGuestDone == 0);
  CHECK(kExitUsage == 2);
  CHECK(kExitBadConfig == 3);
  CHECK(kExitHostFailure == 4);
  CHECK(kExitTripleFault == 5);
  CHECK(kExitInternalError == 6);
  CHECK(kExitSignalBase == 128);
}

TEST_CASE("configuration, image and layout errors exit with the bad-config code") {
  CHECK(code_for(ErrorCode::invalid_config) == kExitBadConfig);
  CHECK(code_for(ErrorCode::invalid_image) == kExitBadConfig);
  CHECK(code_for(ErrorCode::guest_layout) == kExitBadConfig);
}

TEST_CASE("unsupported, timeout and invalid-state errors exit with the host-failure code") {
  CHECK(code_for(ErrorCode::unsupported) == kExitHostFailure);
  CHECK(code_for(ErrorCode::timeout) == kExitHostFailure);
  CHECK(code_for(ErrorCode::invalid_state) == kExitHostFailure);
}

TEST_CASE("a missing or unreadable path exits with the bad-config code") {
  CHECK(code_for_errno(ENOENT) == kExitBadConfig);
  CHECK(code_for_errno(EACCES) == kExitBadConfig);
  CHECK(code_for_errno(EISDIR) == kExitBadConfig);
  CHECK(code_for_errno(ENOTDIR) == kExitBadConfig);
}

TEST_CASE("other errno failures exit with the host-failure code") {
  CHECK(code_for_errno(ENOMEM) == kExitHostFailure);
  CHECK(code_for_errno(ENODEV) == kExitHostFailure);
  CHECK(code_for_errno(EBUSY) == kExitHostFailure);
  CHECK(code_for_errno(EIO) == kExitHostFailure);
}

TEST_CASE("context added to an error does not change its exit code") {
  Error e = with_context(errno_error_value(ENOENT, "open /k").value(), "loading kernel");
  CHECK(exit_code_for(e) == kExitBadConfig);
}

TEST_CASE("a guest reset or power-off exits with 0") {
  CHECK(code_for(ExitReason::guest_reset) == kExitGuestDone);
  CHECK(code_for(ExitReason::guest_shutdown) == kExitGuestDone);
}

TEST_CASE("a triple fault exits with the triple-fault code") {
  CHECK(code_for(ExitReason::triple_fault) == kExitTripleFault);
}

TEST_CASE("an internal error exits with the internal-error code") {
  CHECK(code_for(ExitReason::internal_error) == kExitInternalError);
}

TEST_CASE("a host stop or an expired graceful stop exits with the signal base") {
  CHECK(code_for(ExitReason::stopped_by_host) == kExitSignalBase);
  CHECK(code_for(ExitReason::graceful_stop_timeout) == kExitSignalBase);
}

TEST_CASE("an out-of-range exit reason exits with the internal-error code") {
  CHECK(code_for(static_cast<ExitReason>(99)) == kExitInternalError);
}

}  // namespace
}  // namespace minivmm::cli
