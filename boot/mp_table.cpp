// Implementation of the MP table builder (Intel MP spec 1.4, chapter 4). Entries are appended in
// the order the spec recommends (processors, buses, I/O APICs, I/O interrupts, local
// interrupts), then both checksums are filled in last.
#include "boot/mp_table.hpp"

#include <cstddef>
#include <cstring>

#include "vmm/memory/x86_layout.hpp"

namespace minivmm::boot {
namespace {

constexpr uint8_t kCpuEnabled = 1;
constexpr uint8_t kCpuBootstrap = 2;
constexpr uint32_t kCpuSignature = 0x600;                 // family 6, as Firecracker reports
constexpr uint32_t kCpuFeatures = (1u << 9) | (1u << 0);  // CPUID.1:EDX APIC | FPU
constexpr uint8_t kIsaBusId = 0;

template <typename T>
void append(std::vector<uint8_t>& out, const T& v) {
  auto p = reinterpret_cast<const uint8_t*>(&v);
  out.insert(out.end(), p, p + sizeof v);
}

MpInterruptEntry interrupt(MpEntryType type, MpIrqType irq, uint8_t src_irq, uint8_t dst_apic,
                           uint8_t pin) {
  return {
      static_cast<uint8_t>(type), static_cast<uint8_t>(irq), 0, kIsaBusId, src_irq, dst_apic, pin};
}

void append_entries(std::vector<uint8_t>& out, uint8_t vcpus) {
  for (uint8_t id = 0; id < vcpus; ++id) {
    uint8_t flags = static_cast<uint8_t>(kCpuEnabled | (id == 0 ? kCpuBootstrap : 0));
    append(out, MpProcessorEntry{static_cast<uint8_t>(MpEntryType::processor),
                                 id,
                                 kLapicVersion,
                                 flags,
                                 kCpuSignature,
                                 kCpuFeatures,
                                 {0, 0}});
  }
  append(out,
         MpBusEntry{
             static_cast<uint8_t>(MpEntryType::bus), kIsaBusId, {'I', 'S', 'A', ' ', ' ', ' '}});
  const uint8_t ioapic_id = vcpus;
  append(out, MpIoapicEntry{static_cast<uint8_t>(MpEntryType::ioapic), ioapic_id, kIoapicVersion,
                            kCpuEnabled, static_cast<uint32_t>(x86::kIoapicAddr)});
  for (uint8_t irq = 0; irq < kIoapicPins; ++irq)
    append(out, interrupt(MpEntryType::io_interrupt, MpIrqType::intr, irq, ioapic_id, irq));
  append(out, interrupt(MpEntryType::local_interrupt, MpIrqType::extint, 0, 0xff, 0));
  append(out, interrupt(MpEntryType::local_interrupt, MpIrqType::nmi, 0, 0xff, 1));
}

}  // namespace

uint64_t mp_table_size(uint32_t vcpus) noexcept {
  return sizeof(MpFloatingPointer) + sizeof(MpConfigHeader) +
         uint64_t{vcpus} * sizeof(MpProcessorEntry) + sizeof(MpBusEntry) + sizeof(MpIoapicEntry) +
         (kIoapicPins + 2u) * sizeof(MpInterruptEntry);
}

uint8_t mp_checksum(const uint8_t* bytes, uint64_t len) noexcept {
  uint8_t sum = 0;
  for (uint64_t i = 0; i < len; ++i) sum = static_cast<uint8_t>(sum + bytes[i]);
  return static_cast<uint8_t>(0u - sum);
}

Result<std::vector<uint8_t>> build_mp_table(uint32_t vcpus, uint64_t base) {
  if (vcpus == 0 || vcpus > kMaxVcpus)
    return make_error(ErrorCode::invalid_config, "vcpus {} must be between 1 and {}", vcpus,
                      kMaxVcpus);
  std::vector<uint8_t> out;
  out.reserve(mp_table_size(vcpus));
  MpFloatingPointer fp{};
  std::memcpy(fp.signature, "_MP_", 4);
  fp.physptr = static_cast<uint32_t>(base + sizeof(MpFloatingPointer));
  fp.length = 1;
  fp.spec_rev = 4;
  append(out, fp);
  MpConfigHeader hdr{};
  std::memcpy(hdr.signature, "PCMP", 4);
  hdr.spec_rev = 4;
  std::memcpy(hdr.oem_id, "MINIVMM ", 8);
  std::memcpy(hdr.product_id, "000000000000", 12);
  hdr.entry_count = static_cast<uint16_t>(vcpus + 1 + 1 + kIoapicPins + 2);
  hdr.lapic_addr = static_cast<uint32_t>(x86::kLapicAddr);
  append(out, hdr);
  append_entries(out, static_cast<uint8_t>(vcpus));
  const uint64_t table_len = out.size() - sizeof(MpFloatingPointer);
  auto* cfg = out.data() + sizeof(MpFloatingPointer);
  uint16_t len16 = static_cast<uint16_t>(table_len);
  std::memcpy(cfg + offsetof(MpConfigHeader, length), &len16, sizeof len16);
  cfg[offsetof(MpConfigHeader, checksum)] = mp_checksum(cfg, table_len);
  out[offsetof(MpFloatingPointer, checksum)] = mp_checksum(out.data(), sizeof(MpFloatingPointer));
  return out;
}

}  // namespace minivmm::boot
