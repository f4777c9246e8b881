// Implementation of per-vCPU CPUID normalisation. Topology: one package, vcpu_count cores, one
// thread per core, APIC id == vCPU index (matching the MP table boot/ writes).
#include "vmm/kvm/cpuid.hpp"

#include <algorithm>
#include <bit>

namespace minivmm {
namespace {

constexpr uint32_t kHypervisorBit = 1u << 31;   // CPUID.1:ECX[31]
constexpr uint32_t kHttBit = 1u << 28;          // CPUID.1:EDX[28]
constexpr uint32_t kTscDeadlineBit = 1u << 24;  // CPUID.1:ECX[24]

// Bits needed to encode ids 0..n-1 (the x2APIC-id shift of a topology level).
uint32_t id_bits(uint32_t n) {
  return n <= 1 ? 0 : static_cast<uint32_t>(std::bit_width(n - 1));
}

void set_extended_topology(kvm_cpuid_entry2& e, uint32_t index, uint32_t count) {
  // Intel SDM vol. 2A, CPUID leaf 0Bh / 1Fh: level 0 = SMT, level 1 = core.
  e.edx = index;
  switch (e.index) {
    case 0:
      e.eax = 0;  // one thread per core: no shift
      e.ebx = 1;
      e.ecx = (1u << 8) | 0;
      break;
    case 1:
      e.eax = id_bits(count);
      e.ebx = count;
      e.ecx = (2u << 8) | 1;
      break;
    default:
      e.eax = 0;
      e.ebx = 0;
      e.ecx = e.index;  // level type 0: invalid, ends the enumeration
      break;
  }
}

}  // namespace

std::vector<kvm_cpuid_entry2> normalize_cpuid(std::span<const kvm_cpuid_entry2> supported,
                                              uint32_t vcpu_index, uint32_t vcpu_count,
                                              const CpuidHostFeatures& host) {
  std::vector<kvm_cpuid_entry2> out(supported.begin(), supported.end());
  const uint32_t cores_minus_1 = std::min<uint32_t>(vcpu_count - 1, 63);
  for (auto& e : out) {
    switch (e.function) {
      case 0x1:
        e.ebx =
            (e.ebx & 0xffffu) | (vcpu_index << 24) | (std::min<uint32_t>(vcpu_count, 255) << 16);
        e.ebx = (e.ebx & ~0xff00u) | (8u << 8);  // CLFLUSH line size: 8 * 8 = 64 bytes
        e.ecx |= kHypervisorBit;
        if (host.tsc_deadline_timer) e.ecx |= kTscDeadlineBit;
        if (vcpu_count > 1)
          e.edx |= kHttBit;
        else
          e.edx &= ~kHttBit;
        break;
      case 0x4: {
        // EAX[31:26]: cores per package - 1. EAX[25:14]: threads sharing this cache - 1: the
        // package-wide L3 is shared by every vCPU, L1/L2 are private to one.
        const uint32_t level = (e.eax >> 5) & 0x7;
        const uint32_t sharing = level >= 3 ? std::min<uint32_t>(vcpu_count - 1, 0xfff) : 0;
        e.eax = (e.eax & 0x3fffu) | (sharing << 14) | (cores_minus_1 << 26);
        break;
      }
      case 0xa:
        // No architectural PMU.
        e.eax = e.ebx = e.ecx = e.edx = 0;
        break;
      case 0xb:
      case 0x1f:
        set_extended_topology(e, vcpu_index, vcpu_count);
        break;
      case 0x80000008:
        // AMD: NC = cores - 1 in ECX[7:0]; ApicIdCoreIdSize in ECX[15:12] wide enough for every
        // APIC id, or the guest would split the cores into packages.
        e.ecx = (e.ecx & ~0xf0ffu) | (id_bits(vcpu_count) << 12) | cores_minus_1;
        break;
      case 0x8000001e:
        e.eax = vcpu_index;          // extended APIC id
        e.ebx = vcpu_index & 0xffu;  // compute unit id; one thread per unit
        e.ecx = 0;                   // node 0, one node per package
        break;
      default:
        break;
    }
  }
  return out;
}

}  // namespace minivmm
