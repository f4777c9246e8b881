// C++-safe layouts for the KVM ioctls whose uapi structs end in a flexible array.
//
// Linux 6.1's uapi headers declare those arrays with __DECLARE_FLEX_ARRAY, which wraps them in a
// struct holding an empty struct. In C an empty struct has size 0; in C++ it has size 1, so under
// C++ sizeof(kvm_cpuid2) is 12 instead of 8, `entries` sits at the wrong offset, and the ioctl
// numbers (which encode sizeof) become ones KVM rejects with EINVAL. We therefore describe the
// fixed 8-byte headers ourselves, place the entries right after them, and derive the ioctl numbers
// from the C layout. Entry structs (kvm_cpuid_entry2, kvm_msr_entry) are unaffected and come from
// <linux/kvm.h>.
#pragma once

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <cstdint>

namespace minivmm::kvm_abi {

/// struct kvm_cpuid2 / kvm_msrs / kvm_irq_routing without their trailing arrays, as C lays them
/// out.
struct FlexHeader {
  uint32_t count;
  uint32_t flags_or_padding;
};
static_assert(sizeof(FlexHeader) == 8);

inline constexpr unsigned long kGetSupportedCpuid = _IOWR(KVMIO, 0x05, FlexHeader);
inline constexpr unsigned long kSetCpuid2 = _IOW(KVMIO, 0x90, FlexHeader);
inline constexpr unsigned long kSetMsrs = _IOW(KVMIO, 0x89, FlexHeader);
inline constexpr unsigned long kGetMsrs = _IOWR(KVMIO, 0x88, FlexHeader);

}  // namespace minivmm::kvm_abi
