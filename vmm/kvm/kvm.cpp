// Implementation of the /dev/kvm handle and its capability checks.
#include "vmm/kvm/kvm.hpp"

#include "vmm/kvm/flex_array_abi.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cstring>
#include <memory>

namespace minivmm {
namespace {

struct RequiredCap {
  long cap;
  const char* name;
};

// Everything the VM and vCPU code calls unconditionally.
constexpr RequiredCap kRequiredCaps[] = {
    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
    {KVM_CAP_PIT2, "KVM_CAP_PIT2"},
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    {KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD"},
    {KVM_CAP_IRQFD, "KVM_CAP_IRQFD"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
    {KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE"},
};

}  // namespace

Result<Kvm> Kvm::open(const char* path) {
  int fd = ::open(path, O_RDWR | O_CLOEXEC);
  // Reported as `unsupported`, not as the errno, so callers can tell "this host has no usable
  // KVM" from "the user's image path is wrong".
  if (fd < 0)
    return make_error(ErrorCode::unsupported, "open {}: {} (is KVM enabled on this host?)", path,
                      std::strerror(errno));
  Kvm kvm{UniqueFd(fd)};
  int version = ::ioctl(fd, KVM_GET_API_VERSION, 0);
  if (version != KVM_API_VERSION)
    return make_error(ErrorCode::unsupported, "KVM_GET_API_VERSION returned {}, need {}", version,
                      KVM_API_VERSION);
  for (const auto& c : kRequiredCaps)
    if (kvm.check_extension(c.cap) <= 0)
      return make_error(ErrorCode::unsupported, "{} lacks {}", path, c.name);
  int size = ::ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 0);
  if (size <= 0) return errno_error("KVM_GET_VCPU_MMAP_SIZE");
  kvm.m_vcpu_mmap_size = static_cast<size_t>(size);
  int max = kvm.check_extension(KVM_CAP_MAX_VCPUS);
  if (max <= 0) max = kvm.check_extension(KVM_CAP_NR_VCPUS);
  kvm.m_max_vcpus = max > 0 ? static_cast<uint32_t>(max) : 1;
  return kvm;
}

int Kvm::check_extension(long cap) const noexcept {
  return ::ioctl(m_fd.get(), KVM_CHECK_EXTENSION, cap);
}

Result<std::vector<kvm_cpuid_entry2>> Kvm::supported_cpuid() const {
  // Grow the buffer until KVM stops answering E2BIG.
  for (uint32_t n = 128; n <= 4096; n *= 2) {
    size_t bytes = sizeof(kvm_abi::FlexHeader) + n * sizeof(kvm_cpuid_entry2);
    auto buf = std::make_unique<uint64_t[]>((bytes + 7) / 8);
    auto* header = reinterpret_cast<kvm_abi::FlexHeader*>(buf.get());
    auto* entries = reinterpret_cast<kvm_cpuid_entry2*>(header + 1);
    header->count = n;
    if (::ioctl(m_fd.get(), kvm_abi::kGetSupportedCpuid, header) == 0)
      return std::vector<kvm_cpuid_entry2>(entries, entries + std::min(header->count, n));
    if (errno != E2BIG) return errno_error("KVM_GET_SUPPORTED_CPUID nent={}", n);
  }
  return make_error(ErrorCode::unsupported, "KVM_GET_SUPPORTED_CPUID: more than 4096 entries");
}

Result<Vm> Kvm::create_vm() const {
  int fd = ::ioctl(m_fd.get(), KVM_CREATE_VM, 0);
  if (fd < 0) return errno_error("KVM_CREATE_VM type=0");
  return Vm(UniqueFd(fd), m_vcpu_mmap_size);
}

}  // namespace minivmm
