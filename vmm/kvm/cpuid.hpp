// normalize_cpuid: turns KVM_GET_SUPPORTED_CPUID into the CPUID table of one vCPU. It sets the
// APIC id and topology leaves so each vCPU describes itself consistently (leaves 0x1, 0x4, 0xB,
// 0x1F, 0x80000008, 0x8000001E), marks the hypervisor bit, hides the architectural PMU (KVM
// guests must not program host performance counters through us), and keeps KVM's paravirt leaves
// (0x40000000+) untouched so kvm-clock and friends work, and advertises what KVM emulates but
// reports only as a capability (the TSC-deadline timer). It does not call KVM; it is pure.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <span>
#include <vector>

namespace minivmm {

/// Host facts that change the table but are not in KVM_GET_SUPPORTED_CPUID.
struct CpuidHostFeatures {
  /// KVM_CAP_TSC_DEADLINE_TIMER: KVM's LAPIC emulates TSC-deadline mode, yet the supported table
  /// never sets CPUID.1:ECX[24]. Advertising it spares the guest its LAPIC-timer calibration
  /// against the PIT (a hundred PIT reprogrammings and about 100 ms of guest time at boot).
  bool tsc_deadline_timer = false;
};

std::vector<kvm_cpuid_entry2> normalize_cpuid(std::span<const kvm_cpuid_entry2> supported,
                                              uint32_t vcpu_index, uint32_t vcpu_count,
                                              const CpuidHostFeatures& host = {});

}  // namespace minivmm
