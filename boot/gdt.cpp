// Implementation of the boot GDT (Intel SDM vol. 3A figure 3-8 "Segment Descriptor", figure 7-4
// "Format of TSS and LDT Descriptors in 64-bit Mode").
#include "boot/gdt.hpp"

namespace minivmm::boot {
namespace {

constexpr uint8_t kTypeCodeExecReadAccessed = 0xb;
constexpr uint8_t kTypeDataReadWriteAccessed = 0x3;
constexpr uint8_t kTypeBusyTss = 0xb;  // 32-bit busy TSS, or 64-bit busy TSS in long mode
constexpr uint32_t kTssLimit = 0x67;

Segment flat(uint16_t selector, uint8_t type) noexcept {
  Segment s;
  s.base = 0;
  s.limit = 0xffff'ffff;
  s.selector = selector;
  s.type = type;
  s.present = true;
  s.s = true;
  s.db = true;
  s.g = true;
  return s;
}

}  // namespace

Segment boot_code_segment(EntryMode mode) noexcept {
  Segment s = flat(kBootCsSelector, kTypeCodeExecReadAccessed);
  if (mode == EntryMode::long64) {
    s.l = true;
    s.db = false;  // SDM 3.4.5: D must be 0 when L is 1
  }
  return s;
}

Segment boot_data_segment() noexcept {
  return flat(kBootDsSelector, kTypeDataReadWriteAccessed);
}

Segment boot_tss_segment() noexcept {
  Segment s;
  s.limit = kTssLimit;
  s.selector = kBootTssSelector;
  s.type = kTypeBusyTss;
  s.present = true;
  return s;
}

uint64_t encode_descriptor(const Segment& seg) noexcept {
  uint64_t limit = seg.g ? seg.limit >> 12 : seg.limit;
  uint64_t d = limit & 0xffff;
  d |= (seg.base & 0xff'ffff) << 16;
  d |= uint64_t{seg.type & 0xfu} << 40;
  d |= uint64_t{seg.s} << 44;
  d |= uint64_t{seg.dpl & 3u} << 45;
  d |= uint64_t{seg.present} << 47;
  d |= ((limit >> 16) & 0xf) << 48;
  d |= uint64_t{seg.l} << 53;
  d |= uint64_t{seg.db} << 54;
  d |= uint64_t{seg.g} << 55;
  d |= ((seg.base >> 24) & 0xff) << 56;
  return d;
}

std::array<uint64_t, kGdtEntries> build_gdt(EntryMode mode) noexcept {
  Segment tss = boot_tss_segment();
  return {0,
          0,
          encode_descriptor(boot_code_segment(mode)),
          encode_descriptor(boot_data_segment()),
          encode_descriptor(tss),
          tss.base >> 32};
}

}  // namespace minivmm::boot
