// Implementation of the entry states. Both share the GDT at layout::kGdtAddr and the boot stack.
#include "boot/entry_setup.hpp"

#include "boot/boot_layout.hpp"
#include "boot/gdt.hpp"

namespace minivmm::boot {
namespace {

EntryState common(EntryMode mode, uint64_t rip) noexcept {
  EntryState st;
  st.mode = mode;
  st.rip = rip;
  st.rsp = layout::kBootStackTop;
  st.rflags = 0x2;  // bit 1 reserved-one; IF clear
  st.gdt_base = layout::kGdtAddr;
  st.gdt_limit = static_cast<uint16_t>(kGdtEntries * 8 - 1);
  st.code = boot_code_segment(mode);
  st.data = boot_data_segment();
  st.tss = boot_tss_segment();
  return st;
}

}  // namespace

EntryState long64_entry_state(uint64_t rip) noexcept {
  EntryState st = common(EntryMode::long64, rip);
  st.cr0 = kCr0Pe | kCr0Et | kCr0Pg;
  st.cr3 = layout::kPml4Addr;
  st.cr4 = kCr4Pae;
  st.efer = kEferLme | kEferLma;
  st.rsi = layout::kZeroPageAddr;
  return st;
}

EntryState pvh_entry_state(uint64_t rip) noexcept {
  EntryState st = common(EntryMode::pvh32, rip);
  st.cr0 = kCr0Pe;
  st.rbx = layout::kPvhStartInfoAddr;
  return st;
}

}  // namespace minivmm::boot
