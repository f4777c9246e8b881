// Kvm: the /dev/kvm system handle. Opening it checks the API version and every capability minivmm
// relies on, so a host that lacks one fails at create time with an error naming the capability,
// not later in the middle of a boot. It creates Vms and answers system-wide queries (supported
// CPUID, vCPU limits); it holds no per-VM state.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

#include "vmm/kvm/vm.hpp"
#include "vmm/sys/error.hpp"
#include "vmm/sys/unique_fd.hpp"

namespace minivmm {

class Kvm {
 public:
  /// Opens `path` (default /dev/kvm), checks KVM_GET_API_VERSION == 12 and the required caps.
  static Result<Kvm> open(const char* path = "/dev/kvm");

  int fd() const noexcept { return m_fd.get(); }
  /// Size of the kvm_run mapping of every vCPU.
  size_t vcpu_mmap_size() const noexcept { return m_vcpu_mmap_size; }
  /// Highest vCPU count one VM may have (KVM_CAP_MAX_VCPUS, else KVM_CAP_NR_VCPUS).
  uint32_t max_vcpus() const noexcept { return m_max_vcpus; }
  /// KVM_CHECK_EXTENSION; <= 0 means absent.
  int check_extension(long cap) const noexcept;
  /// KVM_GET_SUPPORTED_CPUID.
  Result<std::vector<kvm_cpuid_entry2>> supported_cpuid() const;
  /// KVM_CREATE_VM type 0.
  Result<Vm> create_vm() const;

 private:
  explicit Kvm(UniqueFd fd) : m_fd(std::move(fd)) {}
  UniqueFd m_fd;
  size_t m_vcpu_mmap_size = 0;
  uint32_t m_max_vcpus = 1;
};

}  // namespace minivmm
