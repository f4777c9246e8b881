// Implementation of the VM-scope ioctl wrappers.
#include "vmm/kvm/vm.hpp"

#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

namespace minivmm {

Result<void> Vm::set_user_memory_region(uint32_t slot, uint64_t gpa, uint64_t size, void* host) {
  kvm_userspace_memory_region r{};
  r.slot = slot;
  r.guest_phys_addr = gpa;
  r.memory_size = size;
  r.userspace_addr = reinterpret_cast<uint64_t>(host);
  if (::ioctl(m_fd.get(), KVM_SET_USER_MEMORY_REGION, &r) != 0)
    return errno_error("KVM_SET_USER_MEMORY_REGION slot={} gpa={:#x} size={:#x}", slot, gpa, size);
  return {};
}

Result<void> Vm::set_tss_and_identity_map(uint64_t tss_addr, uint64_t identity_map_addr) {
  if (::ioctl(m_fd.get(), KVM_SET_TSS_ADDR, static_cast<unsigned long>(tss_addr)) != 0)
    return errno_error("KVM_SET_TSS_ADDR {:#x}", tss_addr);
  uint64_t addr = identity_map_addr;
  if (::ioctl(m_fd.get(), KVM_SET_IDENTITY_MAP_ADDR, &addr) != 0)
    return errno_error("KVM_SET_IDENTITY_MAP_ADDR {:#x}", identity_map_addr);
  return {};
}

Result<void> Vm::create_irqchip_and_pit() {
  if (::ioctl(m_fd.get(), KVM_CREATE_IRQCHIP, 0) != 0) return errno_error("KVM_CREATE_IRQCHIP");
  kvm_pit_config pit{};
  // Speaker port dummy: the guest's PC-speaker probing of port 0x61 is answered in the kernel.
  pit.flags = KVM_PIT_SPEAKER_DUMMY;
  if (::ioctl(m_fd.get(), KVM_CREATE_PIT2, &pit) != 0) return errno_error("KVM_CREATE_PIT2");
  return {};
}

Result<void> Vm::register_irqfd(int eventfd, uint32_t gsi) {
  kvm_irqfd irqfd{};
  irqfd.fd = static_cast<uint32_t>(eventfd);
  irqfd.gsi = gsi;
  if (::ioctl(m_fd.get(), KVM_IRQFD, &irqfd) != 0)
    return errno_error("KVM_IRQFD fd={} gsi={}", eventfd, gsi);
  return {};
}

Result<void> Vm::register_ioeventfd(int eventfd, IoEventSpace space, uint64_t addr, uint32_t len,
                                    std::optional<uint64_t> datamatch) {
  kvm_ioeventfd io{};
  io.addr = addr;
  io.len = len;
  io.fd = eventfd;
  if (space == IoEventSpace::pio) io.flags |= KVM_IOEVENTFD_FLAG_PIO;
  if (datamatch) {
    io.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
    io.datamatch = *datamatch;
  }
  if (::ioctl(m_fd.get(), KVM_IOEVENTFD, &io) != 0)
    return errno_error("KVM_IOEVENTFD fd={} addr={:#x} len={}", eventfd, addr, len);
  return {};
}

Result<Vcpu> Vm::create_vcpu(uint32_t id) {
  int fd = ::ioctl(m_fd.get(), KVM_CREATE_VCPU, static_cast<unsigned long>(id));
  if (fd < 0) return errno_error("KVM_CREATE_VCPU id={}", id);
  UniqueFd vcpu_fd(fd);
  MINIVMM_TRY(run, Mapping::create(m_vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  return Vcpu(id, std::move(vcpu_fd), std::move(run));
}

}  // namespace minivmm
