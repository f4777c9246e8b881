// EntryState: the register state in which the boot code asks the machine to start vCPU 0. boot/
// produces it without knowing KVM; vmm/machine turns it into kvm_regs/kvm_sregs. The GDT it
// refers to has already been written to guest memory by the loader.
#pragma once

#include <cstdint>

namespace minivmm::boot {

enum class EntryMode {
  pvh32,   ///< Xen PVH entry: 32-bit protected mode, paging off, rbx = hvm_start_info address
  long64,  ///< Linux 64-bit boot protocol: long mode, identity paging, rsi = zero page address
};

/// One segment register as the CPU caches it (mirrors the fields of struct kvm_segment).
struct Segment {
  uint64_t base = 0;
  uint32_t limit = 0;
  uint16_t selector = 0;
  /// 4-bit segment type (e.g. 0xb code exec/read accessed, 0x3 data rw accessed)
  uint8_t type = 0;
  bool present = false;
  uint8_t dpl = 0;
  bool db = false;  ///< default operation size 32-bit
  bool s = false;   ///< code/data (not system) segment
  bool l = false;   ///< 64-bit code segment
  bool g = false;   ///< 4 KiB granularity
};

struct EntryState {
  EntryMode mode = EntryMode::long64;
  uint64_t rip = 0;
  uint64_t rsp = 0;
  uint64_t rsi = 0;
  uint64_t rbx = 0;
  uint64_t rflags = 0x2;
  uint64_t cr0 = 0;
  uint64_t cr3 = 0;
  uint64_t cr4 = 0;
  uint64_t efer = 0;
  uint64_t gdt_base = 0;
  uint16_t gdt_limit = 0;
  Segment code;  ///< CS
  Segment data;  ///< DS, ES, FS, GS, SS
  Segment tss;   ///< TR (a busy 64-bit or 32-bit TSS type, as the entry mode requires)
};

}  // namespace minivmm::boot
