// Implementation of the vCPU-scope ioctl wrappers.
#include "vmm/kvm/vcpu.hpp"

#include "vmm/kvm/flex_array_abi.hpp"

#include <sys/ioctl.h>

#include <algorithm>
#include <cerrno>
#include <memory>

namespace minivmm {

int Vcpu::run() noexcept {
  if (::ioctl(m_fd.get(), KVM_RUN, 0) == 0) return 0;
  return -errno;
}

Result<kvm_regs> Vcpu::get_regs() const {
  kvm_regs r{};
  if (::ioctl(m_fd.get(), KVM_GET_REGS, &r) != 0) return errno_error("KVM_GET_REGS vcpu={}", m_id);
  return r;
}

Result<void> Vcpu::set_regs(const kvm_regs& regs) {
  if (::ioctl(m_fd.get(), KVM_SET_REGS, &regs) != 0)
    return errno_error("KVM_SET_REGS vcpu={}", m_id);
  return {};
}

Result<kvm_sregs> Vcpu::get_sregs() const {
  kvm_sregs s{};
  if (::ioctl(m_fd.get(), KVM_GET_SREGS, &s) != 0)
    return errno_error("KVM_GET_SREGS vcpu={}", m_id);
  return s;
}

Result<void> Vcpu::set_sregs(const kvm_sregs& sregs) {
  if (::ioctl(m_fd.get(), KVM_SET_SREGS, &sregs) != 0)
    return errno_error("KVM_SET_SREGS vcpu={}", m_id);
  return {};
}

Result<void> Vcpu::set_fpu(const kvm_fpu& fpu) {
  if (::ioctl(m_fd.get(), KVM_SET_FPU, &fpu) != 0) return errno_error("KVM_SET_FPU vcpu={}", m_id);
  return {};
}

Result<void> Vcpu::set_msrs(std::span<const MsrValue> msrs) {
  size_t bytes = sizeof(kvm_abi::FlexHeader) + msrs.size() * sizeof(kvm_msr_entry);
  auto buf = std::make_unique<uint64_t[]>((bytes + 7) / 8);
  auto* header = reinterpret_cast<kvm_abi::FlexHeader*>(buf.get());
  auto* entries = reinterpret_cast<kvm_msr_entry*>(header + 1);
  header->count = static_cast<uint32_t>(msrs.size());
  for (size_t i = 0; i < msrs.size(); ++i) {
    entries[i].index = msrs[i].index;
    entries[i].data = msrs[i].value;
  }
  int n = ::ioctl(m_fd.get(), kvm_abi::kSetMsrs, header);
  if (n < 0) return errno_error("KVM_SET_MSRS vcpu={} count={}", m_id, msrs.size());
  if (static_cast<size_t>(n) != msrs.size())
    return make_error(ErrorCode::unsupported, "KVM_SET_MSRS vcpu={}: MSR {:#x} rejected", m_id,
                      msrs[static_cast<size_t>(n)].index);
  return {};
}

Result<void> Vcpu::set_cpuid(std::span<const kvm_cpuid_entry2> entries) {
  size_t bytes = sizeof(kvm_abi::FlexHeader) + entries.size() * sizeof(kvm_cpuid_entry2);
  auto buf = std::make_unique<uint64_t[]>((bytes + 7) / 8);
  auto* header = reinterpret_cast<kvm_abi::FlexHeader*>(buf.get());
  header->count = static_cast<uint32_t>(entries.size());
  std::copy(entries.begin(), entries.end(), reinterpret_cast<kvm_cpuid_entry2*>(header + 1));
  if (::ioctl(m_fd.get(), kvm_abi::kSetCpuid2, header) != 0)
    return errno_error("KVM_SET_CPUID2 vcpu={} nent={}", m_id, entries.size());
  return {};
}

Result<kvm_lapic_state> Vcpu::get_lapic() const {
  kvm_lapic_state l{};
  if (::ioctl(m_fd.get(), KVM_GET_LAPIC, &l) != 0)
    return errno_error("KVM_GET_LAPIC vcpu={}", m_id);
  return l;
}

Result<void> Vcpu::set_lapic(const kvm_lapic_state& lapic) {
  if (::ioctl(m_fd.get(), KVM_SET_LAPIC, &lapic) != 0)
    return errno_error("KVM_SET_LAPIC vcpu={}", m_id);
  return {};
}

Result<void> Vcpu::set_mp_state(uint32_t state) {
  kvm_mp_state s{state};
  if (::ioctl(m_fd.get(), KVM_SET_MP_STATE, &s) != 0)
    return errno_error("KVM_SET_MP_STATE vcpu={} state={}", m_id, state);
  return {};
}

}  // namespace minivmm
