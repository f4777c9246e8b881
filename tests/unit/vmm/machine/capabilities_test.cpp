// Unit tests of capabilities(): what exists is true, hotplug/snapshot/resize are false, the
// version is MAJOR.MINOR.PATCH, kvm_available matches whether /dev/kvm opens; capability_names
// lists exactly the true flags with the field spellings.
#include <minivmm/capabilities.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <regex>

#include <doctest/doctest.h>

namespace minivmm {
namespace {

bool has(const std::vector<std::string>& names, const std::string& n) {
  return std::find(names.begin(), names.end(), n) != names.end();
}

TEST_CASE("capabilities: supported features are true, unsupported ones false") {
  Capabilities c = capabilities();
  CHECK(c.pause_resume);
  CHECK(c.graceful_stop);
  CHECK(c.multiple_machines_per_process);
  CHECK(c.block_backing_swap);
  CHECK(c.block_read_only_update);
  CHECK(c.vsock_hybrid);
  CHECK_FALSE(c.device_hotplug);
  CHECK_FALSE(c.snapshot_restore);
  CHECK_FALSE(c.memory_resize);
  CHECK_FALSE(c.vcpu_resize);
  CHECK(std::regex_match(c.version, std::regex(R"(\d+\.\d+\.\d+)")));
}

TEST_CASE("capabilities: kvm_available is false when /dev/kvm cannot be opened") {
  int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd >= 0) {
    ::close(fd);
    return;  // a KVM host: the API version decides, checked by kvm_tests
  }
  CHECK_FALSE(capabilities().kvm_available);
}

TEST_CASE("capability_names lists the true flags only, by field name") {
  Capabilities c;
  CHECK(capability_names(c).empty());
  c.pause_resume = true;
  c.block_backing_swap = true;
  c.kvm_available = true;
  auto names = capability_names(c);
  CHECK(names == std::vector<std::string>{"pause_resume", "block_backing_swap", "kvm_available"});
  auto all = capability_names(capabilities());
  CHECK(has(all, "graceful_stop"));
  CHECK_FALSE(has(all, "device_hotplug"));
}

}  // namespace
}  // namespace minivmm
