// Boot-time x86 CPU state for every vCPU: CPUID, the MSRs Linux expects a firmware to have set,
// FPU defaults, LAPIC LINT0/LINT1 wiring (what a BIOS would do: ExtINT and NMI), and for vCPU 0 the
// register state boot/ asked for. Application processors are left in KVM's INIT-wait state; the
// guest starts them with INIT/SIPI through the in-kernel LAPIC.
#pragma once

#include <linux/kvm.h>

#include <span>

#include "boot/entry_state.hpp"
#include "vmm/kvm/vcpu.hpp"

namespace minivmm {

/// CPUID, MSRs, FPU and LAPIC for any vCPU.
Result<void> setup_vcpu_common(Vcpu& vcpu, std::span<const kvm_cpuid_entry2> cpuid);

/// Registers and special registers of the boot vCPU.
Result<void> setup_boot_vcpu_registers(Vcpu& vcpu, const boot::EntryState& entry);

/// Pure conversion used by setup_boot_vcpu_registers (unit-tested).
kvm_segment to_kvm_segment(const boot::Segment& s);

}  // namespace minivmm
