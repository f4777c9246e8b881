// Vm: one KVM virtual machine fd. Thin, checked wrappers for the VM-scope ioctls minivmm uses
// (memory slots, in-kernel irqchip and PIT, irqfd, ioeventfd, vCPU creation); each error names
// the ioctl and its arguments. It decides no policy: which slots, GSIs and addresses to use is the
// machine's business.
#pragma once

#include <cstdint>
#include <optional>

#include "vmm/kvm/vcpu.hpp"
#include "vmm/sys/error.hpp"
#include "vmm/sys/unique_fd.hpp"

namespace minivmm {

/// Whether an ioeventfd matches a PIO port or an MMIO address.
enum class IoEventSpace { pio, mmio };

class Vm {
 public:
  Vm(UniqueFd fd, size_t vcpu_mmap_size) : m_fd(std::move(fd)), m_vcpu_mmap_size(vcpu_mmap_size) {}

  int fd() const noexcept { return m_fd.get(); }

  /// KVM_SET_USER_MEMORY_REGION.
  Result<void> set_user_memory_region(uint32_t slot, uint64_t gpa, uint64_t size, void* host);
  /// KVM_SET_TSS_ADDR + KVM_SET_IDENTITY_MAP_ADDR (needed on Intel before creating vCPUs).
  Result<void> set_tss_and_identity_map(uint64_t tss_addr, uint64_t identity_map_addr);
  /// KVM_CREATE_IRQCHIP (PIC, IOAPIC, LAPICs) and KVM_CREATE_PIT2.
  Result<void> create_irqchip_and_pit();
  /// KVM_IRQFD: signalling `eventfd` injects an edge on `gsi`.
  Result<void> register_irqfd(int eventfd, uint32_t gsi);
  /// KVM_IOEVENTFD: a guest write of `len` bytes at `addr` signals `eventfd` without an exit;
  /// with `datamatch`, only writes of that value do.
  Result<void> register_ioeventfd(int eventfd, IoEventSpace space, uint64_t addr, uint32_t len,
                                  std::optional<uint64_t> datamatch);
  /// KVM_CREATE_VCPU and the kvm_run mapping.
  Result<Vcpu> create_vcpu(uint32_t id);

 private:
  UniqueFd m_fd;
  size_t m_vcpu_mmap_size;
};

}  // namespace minivmm
