// Tests for boot/mp_table: the floating pointer in the EBDA, the configuration table's entries
// and both checksums, as Linux's mpparse.c reads them from guest memory.
#include "boot/mp_table.hpp"

#include "boot/boot_layout.hpp"
#include "boot_test_support.hpp"

namespace minivmm::boot::test {
namespace {

uint8_t sum(const GuestMemory& mem, uint64_t gpa, uint64_t len) {
  std::vector<uint8_t> bytes(len);
  REQUIRE(mem.read(gpa, bytes));
  uint8_t s = 0;
  for (auto b : bytes) s = static_cast<uint8_t>(s + b);
  return s;
}

}  // namespace

TEST_CASE("MP floating pointer sits at the EBDA with a valid checksum") {
  auto mem = make_memory();
  auto file = ElfBuilder{}.build();
  REQUIRE(load_linux(mem, config(file, "", nullptr, 2)).has_value());
  CHECK(read_guest<uint16_t>(mem, 0x40e) == 0x9fc0);
  auto fp = read_guest<MpFloatingPointer>(mem, 0x9fc00);
  CHECK(std::string(fp.signature, 4) == "_MP_");
  CHECK(fp.length == 1);
  CHECK(fp.spec_rev == 4);
  CHECK(fp.feature[0] == 0);
  CHECK(fp.physptr == 0x9fc10);
  CHECK(sum(mem, 0x9fc00, 16) == 0);
}

TEST_CASE("MP configuration table has a valid checksum and counts its entries") {
  auto mem = make_memory();
  auto file = ElfBuilder{}.build();
  REQUIRE(load_linux(mem, config(file, "", nullptr, 2)).has_value());
  auto hdr = read_guest<MpConfigHeader>(mem, 0x9fc10);
  CHECK(std::string(hdr.signature, 4) == "PCMP");
  CHECK(hdr.spec_rev == 4);
  CHECK(hdr.lapic_addr == 0xFEE00000);
  CHECK(hdr.entry_count == 2 + 1 + 1 + 24 + 2);
  CHECK(hdr.length == 44 + 2 * 20 + 8 + 8 + 26 * 8);
  CHECK(hdr.length + 16 == mp_table_size(2));
  CHECK(sum(mem, 0x9fc10, hdr.length) == 0);
}

TEST_CASE("MP table lists one enabled processor per vCPU with the BSP flag on APIC id 0") {
  auto mem = make_memory();
  auto file = ElfBuilder{}.build();
  REQUIRE(load_linux(mem, config(file, "", nullptr, 3)).has_value());
  uint64_t at = 0x9fc10 + 44;
  for (uint8_t id = 0; id < 3; ++id, at += 20) {
    auto p = read_guest<MpProcessorEntry>(mem, at);
    CHECK(p.type == 0);
    CHECK(p.lapic_id == id);
    CHECK(p.lapic_version == kLapicVersion);
    CHECK(p.cpu_flags == (id == 0 ? 3 : 1));
  }
  auto bus = read_guest<MpBusEntry>(mem, at);
  CHECK(bus.type == 1);
  CHECK(bus.bus_id == 0);
  CHECK(std::string(bus.bus_type, 6) == "ISA   ");
  auto io = read_guest<MpIoapicEntry>(mem, at + 8);
  CHECK(io.type == 2);
  CHECK(io.ioapic_id == 3);
  CHECK(io.ioapic_version == 0x11);
  CHECK(io.flags == 1);
  CHECK(io.ioapic_addr == 0xFEC00000);
}

TEST_CASE("MP table routes bus IRQ i to IOAPIC pin i (0-23) and sets ExtINT/NMI on LINT0/LINT1") {
  auto mem = make_memory();
  auto file = ElfBuilder{}.build();
  REQUIRE(load_linux(mem, config(file)).has_value());
  uint64_t at = 0x9fc10 + 44 + 20 + 8 + 8;
  for (uint8_t irq = 0; irq < 24; ++irq, at += 8) {
    auto e = read_guest<MpInterruptEntry>(mem, at);
    CHECK(e.type == 3);
    CHECK(e.irq_type == 0);
    CHECK(e.flags == 0);
    CHECK(e.src_bus_id == 0);
    CHECK(e.src_bus_irq == irq);
    CHECK(e.dst_apic_id == 1);
    CHECK(e.dst_pin == irq);
  }
  auto lint0 = read_guest<MpInterruptEntry>(mem, at);
  auto lint1 = read_guest<MpInterruptEntry>(mem, at + 8);
  CHECK(
      (lint0.type == 4 && lint0.irq_type == 3 && lint0.dst_apic_id == 0xff && lint0.dst_pin == 0));
  CHECK(
      (lint1.type == 4 && lint1.irq_type == 1 && lint1.dst_apic_id == 0xff && lint1.dst_pin == 1));
}

TEST_CASE("MP table for 254 vCPUs fits in the reserved EBDA/BIOS range") {
  auto table = build_mp_table(254, layout::kMpTableAddr);
  REQUIRE(table.has_value());
  CHECK(table->size() == mp_table_size(254));
  CHECK(layout::kMpTableAddr + table->size() <= layout::kHighMemStart);
  CHECK((*table)[16 + 44 + 253 * 20 + 1] == 253);  // last processor's APIC id
}

TEST_CASE("MP table for 0 or 255 vCPUs is refused") {
  CHECK_FALSE(build_mp_table(0, layout::kMpTableAddr).has_value());
  CHECK_FALSE(build_mp_table(255, layout::kMpTableAddr).has_value());
}

}  // namespace minivmm::boot::test
