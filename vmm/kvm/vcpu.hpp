// Vcpu: one KVM vCPU fd and its shared kvm_run page. Checked wrappers for the vCPU-scope ioctls
// (registers, MSRs, CPUID, LAPIC, MP state) and KVM_RUN itself. The run loop, exit dispatch and
// threading live in vmm/machine; this class only talks to KVM.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "vmm/sys/error.hpp"
#include "vmm/sys/mapping.hpp"
#include "vmm/sys/unique_fd.hpp"

namespace minivmm {

/// One MSR index/value pair for set_msrs.
struct MsrValue {
  uint32_t index;
  uint64_t value;
};

class Vcpu {
 public:
  Vcpu(uint32_t id, UniqueFd fd, Mapping run)
      : m_id(id), m_fd(std::move(fd)), m_run(std::move(run)) {}

  uint32_t id() const noexcept { return m_id; }
  int fd() const noexcept { return m_fd.get(); }
  /// The shared kvm_run structure (valid for the Vcpu's lifetime).
  kvm_run* run_data() const noexcept { return reinterpret_cast<kvm_run*>(m_run.data()); }

  /// KVM_RUN. Returns 0 on an exit to handle, or -errno (EINTR/EAGAIN when kicked).
  int run() noexcept;

  Result<kvm_regs> get_regs() const;
  Result<void> set_regs(const kvm_regs& regs);
  Result<kvm_sregs> get_sregs() const;
  Result<void> set_sregs(const kvm_sregs& sregs);
  Result<void> set_fpu(const kvm_fpu& fpu);
  Result<void> set_msrs(std::span<const MsrValue> msrs);
  Result<void> set_cpuid(std::span<const kvm_cpuid_entry2> entries);
  Result<kvm_lapic_state> get_lapic() const;
  Result<void> set_lapic(const kvm_lapic_state& lapic);
  Result<void> set_mp_state(uint32_t state);

 private:
  uint32_t m_id;
  UniqueFd m_fd;
  Mapping m_run;
};

}  // namespace minivmm
