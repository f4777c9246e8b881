// Unit tests of the C API's error plumbing and library-wide functions (vmm/capi/capi_call.*,
// capi_info.cpp): the errno table, exceptions turned into return codes, the per-thread last
// error, strings, version, capability bits and names, and the C translation unit
// (c_header_test.c) that proves minivmm.h is valid C99. None needs /dev/kvm.
#include <cerrno>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>

#include <doctest/doctest.h>
#include <minivmm/minivmm.h>
#include <minivmm/capabilities.hpp>

#include "vmm/capi/capi_call.hpp"

extern "C" int minivmm_capi_c_check(char* why, size_t why_len);

namespace minivmm::capi {
namespace {

std::string last_error() {
  return minivmm_last_error();
}

TEST_CASE("C API: minivmm's error codes map to the errno values of the header's table") {
  CHECK(to_errno(ErrorCode::invalid_config) == -EINVAL);
  CHECK(to_errno(ErrorCode::invalid_image) == -ENOEXEC);
  CHECK(to_errno(ErrorCode::unsupported) == -ENOTSUP);
  CHECK(to_errno(ErrorCode::guest_layout) == -E2BIG);
  CHECK(to_errno(ErrorCode::timeout) == -ETIMEDOUT);
  CHECK(to_errno(ErrorCode::invalid_state) == -EBUSY);
}

TEST_CASE("C API: system errors map to -errno and unknown categories to -EIO") {
  CHECK(to_errno(std::error_code(ENOENT, std::system_category())) == -ENOENT);
  CHECK(to_errno(std::error_code(EACCES, std::generic_category())) == -EACCES);
  CHECK(to_errno(std::error_code(0, std::system_category())) == -EIO);
  CHECK(to_errno(std::make_error_code(std::io_errc::stream)) == -EIO);
  CHECK(to_errno(std::error_code(99, minivmm_category())) == -EIO);
}

TEST_CASE("C API: a failed Result sets the last error to the function and the error's message") {
  CapiCall call("minivmm_test_function");
  Result<void> r = tl::unexpected(Error(ErrorCode::invalid_state, "start: machine is running"));
  CHECK(call.check(r) == -EBUSY);
  CHECK(last_error().find("minivmm_test_function: start: machine is running") == 0);
  CHECK(call.check(Result<void>{}) == 0);
}

TEST_CASE("C API: no exception crosses the boundary: bad_alloc is -ENOMEM, others -EIO") {
  CapiCall call("minivmm_test_function");
  CHECK(call.run([]() -> int { throw std::bad_alloc(); }) == -ENOMEM);
  CHECK(last_error() == "minivmm_test_function: out of memory");
  CHECK(call.run([]() -> int { throw std::runtime_error("json: broken"); }) == -EIO);
  CHECK(last_error() == "minivmm_test_function: json: broken");
  CHECK(call.run([]() -> int { throw 42; }) == -EIO);
  CHECK(last_error() == "minivmm_test_function: unknown internal exception");
  CHECK(call.run([] { return 7; }) == 7);
}

TEST_CASE("C API: the last error is per thread and a successful call leaves it unchanged") {
  REQUIRE(minivmm_config_set_vcpus(nullptr, 1) == -EINVAL);
  std::string here = last_error();
  CHECK(here == "minivmm_config_set_vcpus: config is NULL");

  std::string fresh, other;
  std::thread t([&] {
    fresh = minivmm_last_error();
    minivmm_config* c = nullptr;
    if (minivmm_config_new(&c) == 0) {
      (void)minivmm_config_add_disk(c, nullptr, nullptr, 0, nullptr);
      minivmm_config_free(c);
    }
    other = minivmm_last_error();
  });
  t.join();
  CHECK(fresh.empty());
  CHECK(other == "minivmm_config_add_disk: disks[0].path is NULL");
  CHECK(last_error() == here);

  minivmm_config* c = nullptr;
  REQUIRE(minivmm_config_new(&c) == 0);
  CHECK(minivmm_config_set_vcpus(c, 2) == 0);
  CHECK(last_error() == here);
  minivmm_config_free(c);
}

TEST_CASE("C API: strings handed out are malloc'd copies freed by minivmm_free_string") {
  char* s = dup_string(std::string_view("ab\0cd", 5));
  CHECK(std::string(s, 5) == std::string("ab\0cd", 5));
  CHECK(s[5] == '\0');
  minivmm_free_string(s);
  minivmm_free_string(nullptr);
}

TEST_CASE("C API: the version matches the MINIVMM_VERSION_* macros and the C++ capabilities") {
  std::string macros = std::to_string(MINIVMM_VERSION_MAJOR) + "." +
                       std::to_string(MINIVMM_VERSION_MINOR) + "." +
                       std::to_string(MINIVMM_VERSION_PATCH);
  CHECK(std::string(minivmm_version()) == macros);
  CHECK(capabilities().version == macros);
}

TEST_CASE("C API: each capability bit has a distinct name; other values have none") {
  std::set<std::string> names;
  for (uint64_t bit = 1; (bit & MINIVMM_CAP_ALL) != 0; bit <<= 1) {
    const char* name = minivmm_capability_name(bit);
    REQUIRE_MESSAGE(name != nullptr, "bit " << bit);
    names.insert(name);
  }
  CHECK(names.size() == 19);
  CHECK(minivmm_capability_name(0) == nullptr);
  CHECK(minivmm_capability_name(MINIVMM_CAP_ALL + 1) == nullptr);
  CHECK(minivmm_capability_name(MINIVMM_CAP_PAUSE_RESUME | MINIVMM_CAP_NET_TAP) == nullptr);
  CHECK(std::string(minivmm_capability_name(MINIVMM_CAP_VSOCK_HYBRID)) == "vsock_hybrid");
}

TEST_CASE("C API: the capability bits are the C++ capabilities under the same names") {
  uint64_t bits = minivmm_capabilities();
  std::set<std::string> from_bits;
  for (uint64_t bit = 1; (bit & MINIVMM_CAP_ALL) != 0; bit <<= 1)
    if (bits & bit) from_bits.insert(minivmm_capability_name(bit));
  auto names = capability_names(capabilities());
  CHECK(from_bits == std::set<std::string>(names.begin(), names.end()));
  CHECK((bits & ~uint64_t{MINIVMM_CAP_ALL}) == 0);
  CHECK((bits & MINIVMM_CAP_DEVICE_HOTPLUG) == 0);  // documented as unsupported in this version
}

TEST_CASE("C API: state and exit-reason names are the enumerators; unknown values give NULL") {
  CHECK(std::string(minivmm_state_name(MINIVMM_STATE_CREATED)) == "created");
  CHECK(std::string(minivmm_state_name(MINIVMM_STATE_STOPPED)) == "stopped");
  CHECK(minivmm_state_name(-1) == nullptr);
  CHECK(minivmm_state_name(5) == nullptr);
  CHECK(std::string(minivmm_exit_reason_name(MINIVMM_EXIT_STOPPED_BY_HOST)) == "stopped_by_host");
  CHECK(std::string(minivmm_exit_reason_name(MINIVMM_EXIT_GRACEFUL_STOP_TIMEOUT)) ==
        "graceful_stop_timeout");
  CHECK(minivmm_exit_reason_name(6) == nullptr);
}

TEST_CASE("C API: the header compiles as C99 and works from a C translation unit") {
  char why[512] = "";
  CHECK_MESSAGE(minivmm_capi_c_check(why, sizeof why) == 0, why);
}

}  // namespace
}  // namespace minivmm::capi
