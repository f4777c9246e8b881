// Unit tests of normalize_cpuid, which is pure: a fake KVM_GET_SUPPORTED_CPUID table goes in and
// the per-vCPU table comes out. Checked: the APIC id, logical count, CLFLUSH size, hypervisor and
// HTT bits of leaf 0x1; the cores field of leaf 0x4; the zeroed PMU leaf 0xA; x2APIC id, shifts,
// counts and level types of leaves 0xB and 0x1F; the AMD NC field (0x80000008) and extended APIC
// id (0x8000001E); and that KVM's paravirt leaves and unrelated leaves pass through unchanged.
#include "vmm/kvm/cpuid.hpp"

#include <cstdint>
#include <optional>
#include <vector>

#include <doctest/doctest.h>

namespace minivmm {
namespace {

constexpr uint32_t kFill = 0xa5a5a5a5;

kvm_cpuid_entry2 leaf(uint32_t function, uint32_t index, uint32_t eax, uint32_t ebx, uint32_t ecx,
                      uint32_t edx) {
  kvm_cpuid_entry2 e{};
  e.function = function;
  e.index = index;
  e.eax = eax;
  e.ebx = ebx;
  e.ecx = ecx;
  e.edx = edx;
  return e;
}

// A plausible host table with every field filled so that "preserved" and "overwritten" differ.
std::vector<kvm_cpuid_entry2> supported() {
  return {
      leaf(0x0, 0, 0x1f, 0x756e6547, 0x6c65746e, 0x49656e69),
      // Leaf 1: EBX = APIC id 0x17, logical count 0x20, CLFLUSH 0x10, brand index 0x42.
      leaf(0x1, 0, 0x000806ec, 0x17201042, 0x7ffafbff, 0xbfebfbff),
      leaf(0x4, 0, 0x1c004121, 0x01c0003f, 0x3f, 0),
      leaf(0x4, 1, 0x1c004122, 0x01c0003f, 0x3f, 0),
      leaf(0x4, 3, 0x1c03c163, 0x02c0003f, 0x1fff, 6),
      leaf(0xa, 0, 0x07300805, 0x0, 0x0, 0x00000603),
      leaf(0xb, 0, 1, 2, 0x100, 0x17),
      leaf(0xb, 1, 5, 16, 0x201, 0x17),
      leaf(0xb, 2, 0, 0, 2, 0x17),
      leaf(0x1f, 0, 1, 2, 0x100, 0x17),
      leaf(0x1f, 1, 5, 16, 0x201, 0x17),
      leaf(0x1f, 2, 0, 0, 2, 0x17),
      leaf(0x40000000, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d),
      leaf(0x40000001, 0, 0x01007afb, 0, 0, 0),
      leaf(0x80000000, 0, 0x8000001f, kFill, kFill, kFill),
      leaf(0x80000008, 0, 0x3030, 0x0, 0x0000700f, 0x0),
      leaf(0x8000001e, 0, 0x17, 0x0000010b, 0x00000301, 0x0),
  };
}

std::optional<kvm_cpuid_entry2> find(const std::vector<kvm_cpuid_entry2>& t, uint32_t function,
                                     uint32_t index = 0) {
  for (const auto& e : t)
    if (e.function == function && e.index == index) return e;
  return std::nullopt;
}

kvm_cpuid_entry2 get(const std::vector<kvm_cpuid_entry2>& t, uint32_t function,
                     uint32_t index = 0) {
  auto e = find(t, function, index);
  REQUIRE(e.has_value());
  return *e;
}

std::vector<kvm_cpuid_entry2> normalize(uint32_t index, uint32_t count) {
  auto in = supported();
  return normalize_cpuid(in, index, count);
}

TEST_CASE("the output has the same leaves in the same order as the input") {
  auto in = supported();
  auto out = normalize_cpuid(in, 0, 2);
  REQUIRE(out.size() == in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    CHECK(out[i].function == in[i].function);
    CHECK(out[i].index == in[i].index);
    CHECK(out[i].flags == in[i].flags);
  }
}

TEST_CASE("an empty supported table yields an empty table") {
  CHECK(normalize_cpuid({}, 0, 1).empty());
}

TEST_CASE("leaf 1 EBX[31:24] holds the vCPU index as initial APIC id") {
  CHECK(((get(normalize(0, 4), 0x1).ebx) >> 24) == 0);
  CHECK(((get(normalize(3, 4), 0x1).ebx) >> 24) == 3);
  CHECK(((get(normalize(253, 254), 0x1).ebx) >> 24) == 253);
}

TEST_CASE("leaf 1 EBX[23:16] holds the logical processor count") {
  CHECK(((get(normalize(0, 1), 0x1).ebx >> 16) & 0xff) == 1);
  CHECK(((get(normalize(0, 4), 0x1).ebx >> 16) & 0xff) == 4);
  CHECK(((get(normalize(0, 254), 0x1).ebx >> 16) & 0xff) == 254);
}

TEST_CASE("leaf 1 EBX[15:8] is a 64-byte CLFLUSH line and EBX[7:0] brand index is kept") {
  auto e = get(normalize(2, 4), 0x1);
  CHECK(((e.ebx >> 8) & 0xff) == 8);
  CHECK((e.ebx & 0xff) == 0x42);
}

TEST_CASE("leaf 1 sets the hypervisor bit and keeps the other ECX and EAX bits") {
  auto e = get(normalize(0, 1), 0x1);
  CHECK((e.ecx & (1u << 31)) != 0);
  CHECK((e.ecx & 0x7fffffffu) == 0x7ffafbffu);
  CHECK(e.eax == 0x000806ecu);
}

TEST_CASE("leaf 1 sets the HTT bit only for more than one vCPU") {
  CHECK((get(normalize(0, 1), 0x1).edx & (1u << 28)) == 0);
  CHECK((get(normalize(0, 2), 0x1).edx & (1u << 28)) != 0);
  // Other EDX bits are kept.
  CHECK((get(normalize(0, 1), 0x1).edx | (1u << 28)) == 0xbfebfbffu);
}

TEST_CASE("leaf 1 advertises the TSC-deadline timer only when KVM has the capability") {
  auto in = supported();
  in[1].ecx &= ~(1u << 24);  // KVM_GET_SUPPORTED_CPUID never sets it
  CHECK((get(normalize_cpuid(in, 0, 1), 0x1).ecx & (1u << 24)) == 0);
  auto with = get(normalize_cpuid(in, 0, 1, CpuidHostFeatures{.tsc_deadline_timer = true}), 0x1);
  CHECK((with.ecx & (1u << 24)) != 0);
  CHECK((with.ecx | (1u << 24)) == (0x7ffafbffu | (1u << 31)));
}

TEST_CASE("leaf 1 sets HTT even when the host did not report it") {
  auto in = supported();
  in[1].edx &= ~(1u << 28);
  auto out = normalize_cpuid(in, 1, 2);
  CHECK((get(out, 0x1).edx & (1u << 28)) != 0);
}

TEST_CASE("leaf 4 EAX[31:26] is cores minus one on every subleaf and EAX[13:0] is kept") {
  for (uint32_t sub : {0u, 1u, 3u}) {
    CAPTURE(sub);
    auto e1 = get(normalize(0, 1), 0x4, sub);
    auto e8 = get(normalize(5, 8), 0x4, sub);
    CHECK(((e1.eax) >> 26) == 0);
    CHECK(((e8.eax) >> 26) == 7);
    CHECK((e8.eax & 0x3fffu) == (get(supported(), 0x4, sub).eax & 0x3fffu));
    CHECK(e8.ebx == get(supported(), 0x4, sub).ebx);
    CHECK(e8.ecx == get(supported(), 0x4, sub).ecx);
  }
}

TEST_CASE("leaf 4 cores field saturates at 64 cores") {
  CHECK(((get(normalize(0, 64), 0x4).eax) >> 26) == 63);
  CHECK(((get(normalize(100, 254), 0x4).eax) >> 26) == 63);
}

TEST_CASE("leaf 4 reports the L1 cache as private to one thread") {
  auto e = get(normalize(0, 8), 0x4, 0);
  CHECK(((e.eax >> 14) & 0xfff) == 0);
}

TEST_CASE("leaf 0xA is zeroed so the guest sees no architectural PMU") {
  auto e = get(normalize(1, 2), 0xa);
  CHECK(e.eax == 0);
  CHECK(e.ebx == 0);
  CHECK(e.ecx == 0);
  CHECK(e.edx == 0);
}

TEST_CASE("leaves 0xB and 0x1F report the vCPU index as x2APIC id on every subleaf") {
  for (uint32_t fn : {0xbu, 0x1fu})
    for (uint32_t sub : {0u, 1u, 2u}) {
      CAPTURE(fn);
      CAPTURE(sub);
      CHECK(get(normalize(6, 8), fn, sub).edx == 6);
    }
}

TEST_CASE("leaves 0xB and 0x1F subleaf 0 is the SMT level with one thread") {
  for (uint32_t fn : {0xbu, 0x1fu}) {
    CAPTURE(fn);
    auto e = get(normalize(1, 4), fn, 0);
    CHECK(e.eax == 0);
    CHECK(e.ebx == 1);
    CHECK(((e.ecx >> 8) & 0xff) == 1);  // SMT
    CHECK((e.ecx & 0xff) == 0);
  }
}

TEST_CASE("leaves 0xB and 0x1F subleaf 1 is the core level with all vCPUs") {
  for (uint32_t fn : {0xbu, 0x1fu}) {
    CAPTURE(fn);
    auto e4 = get(normalize(1, 4), fn, 1);
    CHECK(e4.eax == 2);  // ids 0..3 need 2 bits
    CHECK(e4.ebx == 4);
    CHECK(((e4.ecx >> 8) & 0xff) == 2);  // Core
    CHECK((e4.ecx & 0xff) == 1);
    CHECK(get(normalize(0, 1), fn, 1).eax == 0);
    CHECK(get(normalize(0, 1), fn, 1).ebx == 1);
    CHECK(get(normalize(0, 5), fn, 1).eax == 3);
    CHECK(get(normalize(0, 254), fn, 1).eax == 8);
    CHECK(get(normalize(0, 254), fn, 1).ebx == 254);
  }
}

TEST_CASE("leaves 0xB and 0x1F subleaf 2 is an invalid level ending the enumeration") {
  for (uint32_t fn : {0xbu, 0x1fu}) {
    CAPTURE(fn);
    auto e = get(normalize(3, 4), fn, 2);
    CHECK(e.eax == 0);
    CHECK(e.ebx == 0);
    CHECK(((e.ecx >> 8) & 0xff) == 0);
    CHECK((e.ecx & 0xff) == 2);
  }
}

TEST_CASE("leaf 0x80000008 ECX[7:0] is the AMD core count minus one, ECX[15:12] sized for it") {
  auto e = get(normalize(0, 4), 0x80000008);
  CHECK((e.ecx & 0xff) == 3);
  CHECK(((e.ecx >> 12) & 0xf) == 2);  // 4 vCPUs: APIC ids need 2 bits
  CHECK((e.ecx & ~0xf0ffu) == 0u);    // the input's other bits (none set) are kept
  CHECK(e.eax == 0x3030u);
  CHECK((get(normalize(0, 1), 0x80000008).ecx & 0xff) == 0);
  CHECK((get(normalize(0, 200), 0x80000008).ecx & 0xff) == 63);
}

TEST_CASE("leaf 0x80000008 ECX[15:12] APIC id core size covers every vCPU's APIC id") {
  // AMD APM: ApicIdSize (ECX[15:12]) is the number of APIC id bits that identify the core; 0 means
  // "derive from NC". A host value smaller than the vCPU count needs makes Linux split the cores
  // into several packages, contradicting NC and leaves 0xB/0x1F.
  auto in = supported();
  for (auto& e : in)
    if (e.function == 0x80000008) e.ecx = 0x4003;  // host: 16-core ApicIdSize, NC = 3
  auto out = normalize_cpuid(in, 0, 64);
  const uint32_t size = (get(out, 0x80000008).ecx >> 12) & 0xf;
  CHECK((size == 0 || (1u << size) >= 64));
}

TEST_CASE("leaf 0x8000001E reports the extended APIC id and one node") {
  auto e = get(normalize(9, 16), 0x8000001e);
  CHECK(e.eax == 9);
  CHECK((e.ebx & 0xff) == 9);
  CHECK(((e.ebx >> 8) & 0xff) == 0);  // one thread per compute unit
  CHECK(e.ecx == 0);
}

TEST_CASE("KVM paravirt leaves 0x40000000 and 0x40000001 are untouched") {
  auto in = supported();
  auto out = normalize_cpuid(in, 7, 8);
  for (uint32_t fn : {0x40000000u, 0x40000001u}) {
    CAPTURE(fn);
    auto a = get(in, fn);
    auto b = get(out, fn);
    CHECK(a.eax == b.eax);
    CHECK(a.ebx == b.ebx);
    CHECK(a.ecx == b.ecx);
    CHECK(a.edx == b.edx);
  }
}

TEST_CASE("leaves without topology meaning pass through unchanged") {
  auto in = supported();
  auto out = normalize_cpuid(in, 7, 8);
  for (uint32_t fn : {0x0u, 0x80000000u}) {
    CAPTURE(fn);
    auto a = get(in, fn);
    auto b = get(out, fn);
    CHECK(a.eax == b.eax);
    CHECK(a.ebx == b.ebx);
    CHECK(a.ecx == b.ecx);
    CHECK(a.edx == b.edx);
  }
}

TEST_CASE("two vCPUs of one machine differ only in their APIC id fields") {
  auto a = normalize(0, 2);
  auto b = normalize(1, 2);
  CHECK(((get(a, 0x1).ebx) >> 24) == 0);
  CHECK(((get(b, 0x1).ebx) >> 24) == 1);
  CHECK((get(a, 0x1).ebx & 0xffffff) == (get(b, 0x1).ebx & 0xffffff));
  CHECK(get(a, 0x4).eax == get(b, 0x4).eax);
  CHECK(get(a, 0xb, 1).ebx == get(b, 0xb, 1).ebx);
}

}  // namespace
TEST_CASE("leaf 4 describes the L3 as shared by every vCPU and L1/L2 as private") {
  auto l3 = get(normalize(0, 8), 0x4, 3);
  CHECK(((l3.eax >> 14) & 0xfff) == 7);
  auto l1 = get(normalize(0, 8), 0x4, 0);
  CHECK(((l1.eax >> 14) & 0xfff) == 0);
}

}  // namespace minivmm
