// Implementation of boot-time vCPU setup. MSR list and values follow what Linux expects after
// firmware (and what Firecracker's arch/x86_64/msr.rs sets): SYSENTER/SYSCALL MSRs cleared,
// TSC 0, MISC_ENABLE with fast strings, MTRRs enabled with write-back default.
#include "vmm/machine/cpu_setup.hpp"

#include <array>
#include <cstring>

namespace minivmm {
namespace {

// Architectural MSR numbers (Intel SDM vol. 4).
constexpr uint32_t kMsrSysenterCs = 0x174, kMsrSysenterEsp = 0x175, kMsrSysenterEip = 0x176;
constexpr uint32_t kMsrStar = 0xc0000081, kMsrLstar = 0xc0000082, kMsrCstar = 0xc0000083;
constexpr uint32_t kMsrSyscallMask = 0xc0000084, kMsrKernelGsBase = 0xc0000102;
constexpr uint32_t kMsrTsc = 0x10, kMsrMiscEnable = 0x1a0, kMsrMtrrDefType = 0x2ff;
constexpr uint64_t kMiscEnableFastString = 1;
constexpr uint64_t kMtrrEnableWriteBack = (1u << 11) | 6;

// LAPIC register offsets and LVT delivery modes (Intel SDM vol. 3A 10.5.1).
constexpr size_t kApicLvt0 = 0x350, kApicLvt1 = 0x360;
constexpr uint32_t kDeliveryExtInt = 7, kDeliveryNmi = 4;

uint32_t lapic_reg(const kvm_lapic_state& l, size_t off) {
  uint32_t v;
  std::memcpy(&v, l.regs + off, sizeof v);
  return v;
}
void set_lapic_reg(kvm_lapic_state& l, size_t off, uint32_t v) {
  std::memcpy(l.regs + off, &v, sizeof v);
}
uint32_t with_delivery_mode(uint32_t lvt, uint32_t mode) {
  return (lvt & ~0x700u) | (mode << 8);
}

}  // namespace

kvm_segment to_kvm_segment(const boot::Segment& s) {
  kvm_segment k{};
  k.base = s.base;
  k.limit = s.limit;
  k.selector = s.selector;
  k.type = s.type;
  k.present = s.present;
  k.dpl = s.dpl;
  k.db = s.db;
  k.s = s.s;
  k.l = s.l;
  k.g = s.g;
  k.avl = 0;
  k.unusable = s.present ? 0 : 1;
  return k;
}

Result<void> setup_vcpu_common(Vcpu& vcpu, std::span<const kvm_cpuid_entry2> cpuid) {
  MINIVMM_TRY_VOID(vcpu.set_cpuid(cpuid));
  const std::array<MsrValue, 11> msrs{{
      {kMsrSysenterCs, 0},
      {kMsrSysenterEsp, 0},
      {kMsrSysenterEip, 0},
      {kMsrStar, 0},
      {kMsrCstar, 0},
      {kMsrKernelGsBase, 0},
      {kMsrSyscallMask, 0},
      {kMsrLstar, 0},
      {kMsrTsc, 0},
      {kMsrMiscEnable, kMiscEnableFastString},
      {kMsrMtrrDefType, kMtrrEnableWriteBack},
  }};
  MINIVMM_TRY_VOID(vcpu.set_msrs(msrs));
  kvm_fpu fpu{};
  fpu.fcw = 0x37f;     // x87 default control word (FNINIT)
  fpu.mxcsr = 0x1f80;  // SSE default: all exceptions masked
  MINIVMM_TRY_VOID(vcpu.set_fpu(fpu));
  MINIVMM_TRY(lapic, vcpu.get_lapic());
  set_lapic_reg(lapic, kApicLvt0, with_delivery_mode(lapic_reg(lapic, kApicLvt0), kDeliveryExtInt));
  set_lapic_reg(lapic, kApicLvt1, with_delivery_mode(lapic_reg(lapic, kApicLvt1), kDeliveryNmi));
  return vcpu.set_lapic(lapic);
}

Result<void> setup_boot_vcpu_registers(Vcpu& vcpu, const boot::EntryState& entry) {
  MINIVMM_TRY(sregs, vcpu.get_sregs());
  sregs.cs = to_kvm_segment(entry.code);
  kvm_segment data = to_kvm_segment(entry.data);
  sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
  sregs.tr = to_kvm_segment(entry.tss);
  sregs.gdt.base = entry.gdt_base;
  sregs.gdt.limit = entry.gdt_limit;
  sregs.cr0 = entry.cr0;
  sregs.cr3 = entry.cr3;
  sregs.cr4 = entry.cr4;
  sregs.efer = entry.efer;
  MINIVMM_TRY_VOID(vcpu.set_sregs(sregs));
  kvm_regs regs{};
  regs.rip = entry.rip;
  regs.rsp = entry.rsp;
  regs.rbp = entry.rsp;
  regs.rsi = entry.rsi;
  regs.rbx = entry.rbx;
  regs.rflags = entry.rflags;
  return vcpu.set_regs(regs);
}

}  // namespace minivmm
