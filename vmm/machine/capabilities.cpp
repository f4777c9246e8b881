// capabilities() and capability_names(): what this build offers, as flags a runtime front end
// reads before creating a sandbox, plus the one host check that matters (/dev/kvm opens and
// speaks KVM API version 12). Flags are true only for features that exist in this tree; the
// unsupported operations are listed as false explicitly so callers need not guess.
#include <minivmm/capabilities.hpp>

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <utility>

namespace minivmm {

namespace {

// CMake passes the project version (project(VERSION) in CMakeLists.txt) on minivmm_machine.
constexpr const char* kVersion = MINIVMM_VERSION;

bool kvm_usable() {
  int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::ioctl(fd, KVM_GET_API_VERSION, 0) == KVM_API_VERSION;
  ::close(fd);
  return ok;
}

}  // namespace

Capabilities capabilities() {
  Capabilities c;
  c.pause_resume = true;
  c.graceful_stop = true;
  c.multiple_machines_per_process = true;
  c.boot_vmlinux = true;
  c.boot_bzimage = true;
  c.boot_initrd = true;
  c.block_device = true;
  c.block_read_only = true;
  c.block_backing_swap = true;
  c.block_read_only_update = true;
  c.net_tap = true;
  c.vsock_hybrid = true;
  c.virtio_fs = true;
  c.virtio_fs_managed = true;
  c.device_hotplug = false;
  c.snapshot_restore = false;
  c.memory_resize = false;
  c.vcpu_resize = false;
  c.kvm_available = kvm_usable();
  c.version = kVersion;
  return c;
}

std::vector<std::string> capability_names(const Capabilities& caps) {
  const std::pair<const char*, bool> flags[] = {
      {"pause_resume", caps.pause_resume},
      {"graceful_stop", caps.graceful_stop},
      {"multiple_machines_per_process", caps.multiple_machines_per_process},
      {"boot_vmlinux", caps.boot_vmlinux},
      {"boot_bzimage", caps.boot_bzimage},
      {"boot_initrd", caps.boot_initrd},
      {"block_device", caps.block_device},
      {"block_read_only", caps.block_read_only},
      {"block_backing_swap", caps.block_backing_swap},
      {"block_read_only_update", caps.block_read_only_update},
      {"net_tap", caps.net_tap},
      {"vsock_hybrid", caps.vsock_hybrid},
      {"virtio_fs", caps.virtio_fs},
      {"virtio_fs_managed", caps.virtio_fs_managed},
      {"device_hotplug", caps.device_hotplug},
      {"snapshot_restore", caps.snapshot_restore},
      {"memory_resize", caps.memory_resize},
      {"vcpu_resize", caps.vcpu_resize},
      {"kvm_available", caps.kvm_available},
  };
  std::vector<std::string> names;
  for (const auto& [name, on] : flags)
    if (on) names.emplace_back(name);
  return names;
}

}  // namespace minivmm
