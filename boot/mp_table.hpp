// The Intel MultiProcessor Specification 1.4 tables that tell Linux how many CPUs exist and how
// ISA interrupts reach the IOAPIC: the MP floating pointer structure ("_MP_") and the MP
// configuration table ("PCMP") with processor, bus, I/O APIC, I/O interrupt and local interrupt
// entries. It builds the bytes in a host buffer; linux_loader writes them (and the EBDA segment
// word) to guest memory. It does not describe devices beyond the ISA IRQs (no ACPI here).
#pragma once

#include <cstdint>
#include <vector>

#include "vmm/sys/error.hpp"

namespace minivmm::boot {

inline constexpr uint32_t kMaxVcpus = 254;  ///< APIC ids 0..253; the IOAPIC takes id = vcpus
inline constexpr uint8_t kIoapicVersion = 0x11;
inline constexpr uint8_t kLapicVersion = 0x14;
inline constexpr uint8_t kIsaIrqs = 16;
/// IOAPIC input pins routed in the table: the 16 ISA IRQs plus pins 16-23, which virtio-mmio
/// devices use beyond the free ISA IRQs (KVM's default routing covers all 24 pins).
inline constexpr uint8_t kIoapicPins = 24;

#pragma pack(push, 1)
/// MP spec 1.4 section 4.1, table 4-1: MP Floating Pointer Structure (16 bytes).
struct MpFloatingPointer {
  char signature[4];   ///< "_MP_"
  uint32_t physptr;    ///< configuration table address
  uint8_t length;      ///< in 16-byte units: 1
  uint8_t spec_rev;    ///< 4 (version 1.4)
  uint8_t checksum;    ///< all 16 bytes sum to 0
  uint8_t feature[5];  ///< feature[0] = 0: a configuration table is present
};
/// Section 4.2, table 4-2: MP Configuration Table Header (44 bytes).
struct MpConfigHeader {
  char signature[4];  ///< "PCMP"
  uint16_t length;    ///< base table length including this header
  uint8_t spec_rev;
  uint8_t checksum;  ///< base table sums to 0
  char oem_id[8];
  char product_id[12];
  uint32_t oem_table_ptr;
  uint16_t oem_table_size;
  uint16_t entry_count;
  uint32_t lapic_addr;
  uint16_t ext_table_length;
  uint8_t ext_table_checksum;
  uint8_t reserved;
};
/// Section 4.3.1, table 4-4: Processor Entry (20 bytes).
struct MpProcessorEntry {
  uint8_t type;  ///< 0
  uint8_t lapic_id;
  uint8_t lapic_version;
  uint8_t cpu_flags;  ///< bit 0 EN (enabled), bit 1 BP (bootstrap processor)
  uint32_t cpu_signature;
  uint32_t feature_flags;
  uint32_t reserved[2];
};
/// Section 4.3.2, table 4-5: Bus Entry (8 bytes).
struct MpBusEntry {
  uint8_t type;  ///< 1
  uint8_t bus_id;
  char bus_type[6];  ///< "ISA   "
};
/// Section 4.3.3, table 4-7: I/O APIC Entry (8 bytes).
struct MpIoapicEntry {
  uint8_t type;  ///< 2
  uint8_t ioapic_id;
  uint8_t ioapic_version;
  uint8_t flags;  ///< bit 0 EN
  uint32_t ioapic_addr;
};
/// Sections 4.3.4 and 4.3.5, tables 4-8 and 4-10: I/O and Local Interrupt Assignment (8 bytes).
struct MpInterruptEntry {
  uint8_t type;      ///< 3 I/O interrupt, 4 local interrupt
  uint8_t irq_type;  ///< 0 INT, 1 NMI, 2 SMI, 3 ExtINT
  uint16_t flags;    ///< polarity/trigger; 0 = conforms to the bus
  uint8_t src_bus_id;
  uint8_t src_bus_irq;
  uint8_t dst_apic_id;  ///< 0xff = all local APICs
  uint8_t dst_pin;      ///< IOAPIC INTIN# or LINTIN#
};
#pragma pack(pop)
static_assert(sizeof(MpFloatingPointer) == 16 && sizeof(MpConfigHeader) == 44);
static_assert(sizeof(MpProcessorEntry) == 20 && sizeof(MpBusEntry) == 8);
static_assert(sizeof(MpIoapicEntry) == 8 && sizeof(MpInterruptEntry) == 8);

enum class MpEntryType : uint8_t {
  processor = 0,
  bus = 1,
  ioapic = 2,
  io_interrupt = 3,
  local_interrupt = 4
};
enum class MpIrqType : uint8_t { intr = 0, nmi = 1, smi = 2, extint = 3 };

/// Bytes of the floating pointer followed by the configuration table for `vcpus` CPUs.
uint64_t mp_table_size(uint32_t vcpus) noexcept;

/// Builds the floating pointer (at `base`) and the configuration table right after it, for
/// vcpus processors (APIC ids 0..vcpus-1, id 0 the BSP), one ISA bus, one IOAPIC (id = vcpus) at
/// x86::kIoapicAddr, bus IRQ i -> IOAPIC pin i for i < 24 (KVM's default GSI routing and
/// Firecracker's table), ExtINT on LINT0 and NMI on LINT1. Errors: invalid_config for vcpus 0 or
/// above kMaxVcpus.
Result<std::vector<uint8_t>> build_mp_table(uint32_t vcpus, uint64_t base);

/// The byte that makes `bytes` sum to zero modulo 256 (MP spec 1.4 "checksum").
uint8_t mp_checksum(const uint8_t* bytes, uint64_t len) noexcept;

}  // namespace minivmm::boot
