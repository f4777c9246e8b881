// What the C API reports about the library itself: its version, the capability bits (one per
// minivmm::Capabilities flag, named by the C++ field) and the names of states and exit reasons.
// The static_asserts pin the C enums to the C++ ones they are cast from.
#include <array>

#include <minivmm/capabilities.hpp>

#include "vmm/capi/capi_call.hpp"

namespace minivmm::capi {
namespace {

static_assert(MINIVMM_STATE_CREATED == static_cast<int>(MachineState::created));
static_assert(MINIVMM_STATE_RUNNING == static_cast<int>(MachineState::running));
static_assert(MINIVMM_STATE_PAUSED == static_cast<int>(MachineState::paused));
static_assert(MINIVMM_STATE_STOPPING == static_cast<int>(MachineState::stopping));
static_assert(MINIVMM_STATE_STOPPED == static_cast<int>(MachineState::stopped));
static_assert(MINIVMM_EXIT_GUEST_RESET == static_cast<int>(ExitReason::guest_reset));
static_assert(MINIVMM_EXIT_GUEST_SHUTDOWN == static_cast<int>(ExitReason::guest_shutdown));
static_assert(MINIVMM_EXIT_TRIPLE_FAULT == static_cast<int>(ExitReason::triple_fault));
static_assert(MINIVMM_EXIT_INTERNAL_ERROR == static_cast<int>(ExitReason::internal_error));
static_assert(MINIVMM_EXIT_STOPPED_BY_HOST == static_cast<int>(ExitReason::stopped_by_host));
static_assert(MINIVMM_EXIT_GRACEFUL_STOP_TIMEOUT ==
              static_cast<int>(ExitReason::graceful_stop_timeout));

struct CapabilityBit {
  uint64_t bit;
  const char* name;  // the Capabilities field, as capability_names() spells it
  bool Capabilities::*flag;
};

constexpr std::array<CapabilityBit, 19> kCapabilityBits{{
    {MINIVMM_CAP_PAUSE_RESUME, "pause_resume", &Capabilities::pause_resume},
    {MINIVMM_CAP_GRACEFUL_STOP, "graceful_stop", &Capabilities::graceful_stop},
    {MINIVMM_CAP_MULTIPLE_MACHINES_PER_PROCESS, "multiple_machines_per_process",
     &Capabilities::multiple_machines_per_process},
    {MINIVMM_CAP_BOOT_VMLINUX, "boot_vmlinux", &Capabilities::boot_vmlinux},
    {MINIVMM_CAP_BOOT_BZIMAGE, "boot_bzimage", &Capabilities::boot_bzimage},
    {MINIVMM_CAP_BOOT_INITRD, "boot_initrd", &Capabilities::boot_initrd},
    {MINIVMM_CAP_BLOCK_DEVICE, "block_device", &Capabilities::block_device},
    {MINIVMM_CAP_BLOCK_READ_ONLY, "block_read_only", &Capabilities::block_read_only},
    {MINIVMM_CAP_BLOCK_BACKING_SWAP, "block_backing_swap", &Capabilities::block_backing_swap},
    {MINIVMM_CAP_BLOCK_READ_ONLY_UPDATE, "block_read_only_update",
     &Capabilities::block_read_only_update},
    {MINIVMM_CAP_NET_TAP, "net_tap", &Capabilities::net_tap},
    {MINIVMM_CAP_VSOCK_HYBRID, "vsock_hybrid", &Capabilities::vsock_hybrid},
    {MINIVMM_CAP_VIRTIO_FS, "virtio_fs", &Capabilities::virtio_fs},
    {MINIVMM_CAP_VIRTIO_FS_MANAGED, "virtio_fs_managed", &Capabilities::virtio_fs_managed},
    {MINIVMM_CAP_DEVICE_HOTPLUG, "device_hotplug", &Capabilities::device_hotplug},
    {MINIVMM_CAP_SNAPSHOT_RESTORE, "snapshot_restore", &Capabilities::snapshot_restore},
    {MINIVMM_CAP_MEMORY_RESIZE, "memory_resize", &Capabilities::memory_resize},
    {MINIVMM_CAP_VCPU_RESIZE, "vcpu_resize", &Capabilities::vcpu_resize},
    {MINIVMM_CAP_KVM_AVAILABLE, "kvm_available", &Capabilities::kvm_available},
}};

// Every defined bit is in the table exactly once, in bit order.
constexpr bool table_covers_all_bits() {
  for (size_t i = 0; i < kCapabilityBits.size(); ++i)
    if (kCapabilityBits[i].bit != (uint64_t{1} << i)) return false;
  return (uint64_t{1} << kCapabilityBits.size()) - 1 == MINIVMM_CAP_ALL;
}
static_assert(table_covers_all_bits());

// The C names are the enumerators' spellings (stable identifiers for logs and bindings), not the
// C++ to_string() prose.
constexpr std::array<const char*, 5> kStateNames{"created", "running", "paused", "stopping",
                                                 "stopped"};
constexpr std::array<const char*, 6> kExitReasonNames{"guest_reset",     "guest_shutdown",
                                                      "triple_fault",    "internal_error",
                                                      "stopped_by_host", "graceful_stop_timeout"};
static_assert(kStateNames.size() == MINIVMM_STATE_STOPPED + 1);
static_assert(kExitReasonNames.size() == MINIVMM_EXIT_GRACEFUL_STOP_TIMEOUT + 1);

#define MINIVMM_STR2(x) #x
#define MINIVMM_STR(x) MINIVMM_STR2(x)
constexpr const char* kVersion = MINIVMM_STR(MINIVMM_VERSION_MAJOR) "." MINIVMM_STR(
    MINIVMM_VERSION_MINOR) "." MINIVMM_STR(MINIVMM_VERSION_PATCH);

}  // namespace
}  // namespace minivmm::capi

extern "C" {

const char* minivmm_version(void) {
  return minivmm::capi::kVersion;
}

uint64_t minivmm_capabilities(void) {
  minivmm::capi::CapiCall call("minivmm_capabilities");
  uint64_t bits = 0;
  int rc = call.run([&] {
    minivmm::Capabilities caps = minivmm::capabilities();
    for (const auto& c : minivmm::capi::kCapabilityBits)
      if (caps.*c.flag) bits |= c.bit;
    return 0;
  });
  return rc == 0 ? bits : 0;
}

const char* minivmm_capability_name(uint64_t bit) {
  for (const auto& c : minivmm::capi::kCapabilityBits)
    if (c.bit == bit) return c.name;
  return nullptr;
}

const char* minivmm_state_name(int state) {
  if (state < 0 || static_cast<size_t>(state) >= minivmm::capi::kStateNames.size()) return nullptr;
  return minivmm::capi::kStateNames[static_cast<size_t>(state)];
}

const char* minivmm_exit_reason_name(int reason) {
  if (reason < 0 || static_cast<size_t>(reason) >= minivmm::capi::kExitReasonNames.size())
    return nullptr;
  return minivmm::capi::kExitReasonNames[static_cast<size_t>(reason)];
}

}  // extern "C"
