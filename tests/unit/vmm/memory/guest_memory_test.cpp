// Unit tests of GuestMemory and the x86 RAM layout: region-table validation in create(), and the
// checked accessors (contains, slice, read, write, fill_zero, read_obj, write_obj) on ranges inside
// one region, at its very end, across two adjacent regions, across a hole, past RAM and with
// gpa+len overflowing 64 bits. A refused write must leave guest memory untouched. The memfd is
// sparse and mapped MAP_NORESERVE, so layouts above 4 GiB cost nothing to create here.
#include "vmm/memory/guest_memory.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "vmm/memory/x86_layout.hpp"

namespace minivmm {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

GuestMemory make(std::vector<RegionSpec> specs) {
  auto m = GuestMemory::create(specs);
  REQUIRE_MESSAGE(m.has_value(), (m ? std::string() : m.error().message()));
  return std::move(*m);
}

// Two adjacent regions [0x10000, 0x12000) and [0x12000, 0x13000), a hole [0x13000, 0x20000),
// then [0x20000, 0x22000).
GuestMemory make_three() {
  return make({{0x10000, 2 * kPage}, {0x12000, kPage}, {0x20000, 2 * kPage}});
}

void check_invalid_config(std::vector<RegionSpec> specs) {
  auto m = GuestMemory::create(specs);
  REQUIRE_FALSE(m.has_value());
  CHECK(m.error().code() == ErrorCode::invalid_config);
  CHECK(m.error().message().find("guest memory") != std::string::npos);
}

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7);
  return v;
}

std::vector<uint8_t> snapshot(const GuestMemory& m, uint64_t gpa, size_t n) {
  std::vector<uint8_t> v(n);
  REQUIRE(m.read(gpa, v));
  return v;
}

// --- create() ---

TEST_CASE("create refuses an empty region list") {
  check_invalid_config({});
}

TEST_CASE("create refuses a zero-size region") {
  check_invalid_config({{0, 0}});
}

TEST_CASE("create refuses an unaligned gpa") {
  check_invalid_config({{0x800, kPage}});
}

TEST_CASE("create refuses an unaligned size") {
  check_invalid_config({{0, kPage + 1}});
}

TEST_CASE("create refuses overlapping regions") {
  check_invalid_config({{0, 2 * kPage}, {kPage, kPage}});
}

TEST_CASE("create refuses a region identical to the previous one") {
  check_invalid_config({{0, kPage}, {0, kPage}});
}

TEST_CASE("create refuses regions given in descending order") {
  check_invalid_config({{0x10000, kPage}, {0, kPage}});
}

TEST_CASE("create refuses a region whose end overflows 2^64") {
  check_invalid_config({{kMax - kPage + 1, 2 * kPage}});
}

TEST_CASE("create refuses a region ending exactly at 2^64 because its end is unrepresentable") {
  check_invalid_config({{kMax - kPage + 1, kPage}});
}

TEST_CASE("create accepts exactly adjacent regions and lays them out back to back in the memfd") {
  GuestMemory m = make_three();
  auto r = m.regions();
  REQUIRE(r.size() == 3);
  CHECK(r[0].gpa == 0x10000);
  CHECK(r[0].size == 2 * kPage);
  CHECK(r[0].fd_offset == 0);
  CHECK(r[1].fd_offset == 2 * kPage);
  CHECK(r[2].fd_offset == 3 * kPage);
  CHECK(r[1].host == r[0].host + 2 * kPage);
  CHECK(r[2].host == r[0].host + 3 * kPage);
  CHECK(r[2].end() == 0x22000);
  CHECK(m.total_size() == 5 * kPage);
  CHECK(m.end_gpa() == 0x22000);
}

TEST_CASE("new guest memory reads as zeroes") {
  GuestMemory m = make({{0, 2 * kPage}});
  auto v = snapshot(m, 0, 2 * kPage);
  CHECK(std::all_of(v.begin(), v.end(), [](uint8_t b) { return b == 0; }));
}

// --- contains() ---

TEST_CASE("contains is true for a range inside one region") {
  GuestMemory m = make_three();
  CHECK(m.contains(0x10000, 2 * kPage));
  CHECK(m.contains(0x10001, 10));
}

TEST_CASE("contains is true for a range ending exactly at the end of a region") {
  GuestMemory m = make_three();
  CHECK(m.contains(0x22000 - 8, 8));
  CHECK(m.contains(0x20000, 2 * kPage));
}

TEST_CASE("contains is true for a range spanning two adjacent regions") {
  GuestMemory m = make_three();
  CHECK(m.contains(0x11ff0, 0x20));
  CHECK(m.contains(0x10000, 3 * kPage));
}

TEST_CASE("contains is false for a range running into a hole") {
  GuestMemory m = make_three();
  CHECK_FALSE(m.contains(0x12ff0, 0x20));
  CHECK_FALSE(m.contains(0x10000, 0x20000 - 0x10000 + 1));
}

TEST_CASE("contains is false for a range starting in a hole or below RAM") {
  GuestMemory m = make_three();
  CHECK_FALSE(m.contains(0x15000, 4));
  CHECK_FALSE(m.contains(0, 4));
  CHECK_FALSE(m.contains(0x1fffc, 8));
}

TEST_CASE("contains is false for a range past the end of RAM") {
  GuestMemory m = make_three();
  CHECK_FALSE(m.contains(0x22000 - 4, 8));
  CHECK_FALSE(m.contains(0x22000, 1));
  CHECK_FALSE(m.contains(kMax, 1));
}

TEST_CASE("contains is false when gpa+len overflows 2^64") {
  GuestMemory m = make_three();
  CHECK_FALSE(m.contains(0x10000, kMax));
  CHECK_FALSE(m.contains(0x21000, kMax - 0x21000 + 2));
  CHECK_FALSE(m.contains(kMax, kMax));
}

TEST_CASE("contains with len 0 is true inside RAM and at the end of a region") {
  GuestMemory m = make_three();
  CHECK(m.contains(0x10000, 0));
  CHECK(m.contains(0x21fff, 0));
  CHECK(m.contains(0x13000, 0));  // end of the second region, start of the hole
  CHECK(m.contains(0x22000, 0));  // end of RAM
}

TEST_CASE("contains with len 0 is false in a hole or far outside RAM") {
  GuestMemory m = make_three();
  CHECK_FALSE(m.contains(0x13001, 0));
  CHECK_FALSE(m.contains(0x0, 0));
  CHECK_FALSE(m.contains(kMax, 0));
}

// --- slice() ---

TEST_CASE("slice returns the host view of a range inside one region") {
  GuestMemory m = make_three();
  auto s = m.slice(0x20010, 16);
  REQUIRE(s.has_value());
  CHECK(s->size() == 16);
  CHECK(s->data() == m.regions()[2].host + 0x10);
  (*s)[0] = 0xab;
  CHECK(m.read_obj<uint8_t>(0x20010) == uint8_t{0xab});
}

TEST_CASE("slice accepts a range ending exactly at the end of a region") {
  GuestMemory m = make_three();
  auto s = m.slice(0x12000, kPage);
  REQUIRE(s.has_value());
  CHECK(s->size() == kPage);
  CHECK(m.slice(0x22000 - 1, 1).has_value());
}

TEST_CASE("slice refuses a range crossing two adjacent regions") {
  GuestMemory m = make_three();
  CHECK_FALSE(m.slice(0x11ff0, 0x20).has_value());
  CHECK_FALSE(m.slice(0x10000, 3 * kPage).has_value());
}

TEST_CASE("slice refuses a range crossing into a hole") {
  GuestMemory m = make_three();
  CHECK_FALSE(m.slice(0x12ff0, 0x20).has_value());
}

TEST_CASE("slice refuses a range starting in a hole or past RAM") {
  GuestMemory m = make_three();
  CHECK_FALSE(m.slice(0x15000, 1).has_value());
  CHECK_FALSE(m.slice(0x22000, 1).has_value());
  CHECK_FALSE(m.slice(0x22000 - 1, 2).has_value());
}

TEST_CASE("slice refuses a range whose gpa+len overflows 2^64") {
  GuestMemory m = make_three();
  CHECK_FALSE(m.slice(0x20000, kMax).has_value());
  CHECK_FALSE(m.slice(0x21fff, kMax - 0x21fff + 1).has_value());
  CHECK_FALSE(m.slice(kMax, kMax).has_value());
}

TEST_CASE("slice with len 0 inside a region is an empty view") {
  GuestMemory m = make_three();
  auto s = m.slice(0x10010, 0);
  REQUIRE(s.has_value());
  CHECK(s->empty());
  CHECK_FALSE(m.slice(0x15000, 0).has_value());
}

// --- read() / write() ---

TEST_CASE("write then read inside one region round-trips the bytes") {
  GuestMemory m = make_three();
  auto in = pattern(100, 3);
  REQUIRE(m.write(0x10100, in));
  std::vector<uint8_t> out(100);
  REQUIRE(m.read(0x10100, out));
  CHECK(out == in);
  CHECK(m.regions()[0].host[0x100] == in[0]);
}

TEST_CASE("write ending exactly at the end of RAM succeeds") {
  GuestMemory m = make_three();
  auto in = pattern(16, 9);
  REQUIRE(m.write(0x22000 - 16, in));
  CHECK(snapshot(m, 0x22000 - 16, 16) == in);
}

TEST_CASE("write across two adjacent regions stores both parts") {
  GuestMemory m = make_three();
  auto in = pattern(32, 1);
  REQUIRE(m.write(0x12000 - 10, in));
  // First 10 bytes at the end of region 0, the rest at the start of region 1.
  const GuestRegion& r0 = m.regions()[0];
  const GuestRegion& r1 = m.regions()[1];
  for (size_t i = 0; i < 10; ++i) CHECK(r0.host[r0.size - 10 + i] == in[i]);
  for (size_t i = 10; i < 32; ++i) CHECK(r1.host[i - 10] == in[i]);
}

TEST_CASE("read across two adjacent regions copies both parts") {
  GuestMemory m = make_three();
  const GuestRegion& r0 = m.regions()[0];
  const GuestRegion& r1 = m.regions()[1];
  r0.host[r0.size - 1] = 0x11;
  r1.host[0] = 0x22;
  std::array<uint8_t, 2> out{};
  REQUIRE(m.read(0x12000 - 1, out));
  CHECK(out[0] == 0x11);
  CHECK(out[1] == 0x22);
}

TEST_CASE("read spanning three whole adjacent regions works") {
  GuestMemory m = make({{0, kPage}, {kPage, kPage}, {2 * kPage, kPage}});
  auto in = pattern(3 * kPage, 5);
  REQUIRE(m.write(0, in));
  CHECK(snapshot(m, 0, 3 * kPage) == in);
}

TEST_CASE("write crossing into a hole is refused and writes nothing") {
  GuestMemory m = make_three();
  auto before = snapshot(m, 0x10000, 3 * kPage);
  auto in = pattern(32, 0x40);
  CHECK_FALSE(m.write(0x13000 - 16, in));
  CHECK(snapshot(m, 0x10000, 3 * kPage) == before);
}

TEST_CASE("write starting in a hole and ending in RAM is refused and writes nothing") {
  GuestMemory m = make_three();
  auto in = pattern(32, 0x40);
  CHECK_FALSE(m.write(0x20000 - 16, in));
  auto after = snapshot(m, 0x20000, 2 * kPage);
  CHECK(std::all_of(after.begin(), after.end(), [](uint8_t b) { return b == 0; }));
}

TEST_CASE("write past the end of RAM is refused and writes nothing") {
  GuestMemory m = make_three();
  auto in = pattern(16, 0x40);
  CHECK_FALSE(m.write(0x22000 - 8, in));
  auto after = snapshot(m, 0x20000, 2 * kPage);
  CHECK(std::all_of(after.begin(), after.end(), [](uint8_t b) { return b == 0; }));
}

TEST_CASE("read crossing into a hole is refused and leaves the buffer untouched") {
  GuestMemory m = make_three();
  REQUIRE(m.write(0x13000 - 4, std::vector<uint8_t>{1, 2, 3, 4}));
  std::vector<uint8_t> out(8, 0xee);
  CHECK_FALSE(m.read(0x13000 - 4, out));
  CHECK(out == std::vector<uint8_t>(8, 0xee));
}

TEST_CASE("read past the end of RAM is refused") {
  GuestMemory m = make_three();
  std::vector<uint8_t> out(8, 0xee);
  CHECK_FALSE(m.read(0x22000 - 4, out));
  CHECK_FALSE(m.read(0x22000, out));
  CHECK(out == std::vector<uint8_t>(8, 0xee));
}

TEST_CASE("read and write with gpa+len overflowing 2^64 are refused") {
  GuestMemory m = make({{kMax - 2 * kPage + 1, kPage}});  // ends at 2^64 - 4096
  std::vector<uint8_t> buf(16, 0x5a);
  CHECK_FALSE(m.read(kMax - 7, buf));
  CHECK_FALSE(m.write(kMax - 7, buf));
  CHECK_FALSE(m.read(m.end_gpa() - 8, buf));
  CHECK_FALSE(m.write(m.end_gpa() - 8, buf));
  auto after = snapshot(m, m.regions()[0].gpa, kPage);
  CHECK(std::all_of(after.begin(), after.end(), [](uint8_t b) { return b == 0; }));
  CHECK(m.write(m.end_gpa() - 16, buf));
}

TEST_CASE("read and write of len 0 succeed in RAM and fail outside it") {
  GuestMemory m = make_three();
  std::span<uint8_t> empty;
  CHECK(m.read(0x10000, empty));
  CHECK(m.write(0x10000, std::span<const uint8_t>()));
  CHECK(m.read(0x22000, empty));
  CHECK_FALSE(m.read(0x15000, empty));
  CHECK_FALSE(m.write(kMax, std::span<const uint8_t>()));
}

// --- fill_zero() ---

TEST_CASE("fill_zero clears a range across two adjacent regions and nothing around it") {
  GuestMemory m = make_three();
  REQUIRE(m.write(0x10000, std::vector<uint8_t>(3 * kPage, 0xff)));
  REQUIRE(m.fill_zero(0x12000 - 8, 16));
  auto v = snapshot(m, 0x10000, 3 * kPage);
  for (size_t i = 0; i < v.size(); ++i) {
    const bool zeroed = i >= 2 * kPage - 8 && i < 2 * kPage + 8;
    CHECK(v[i] == (zeroed ? 0 : 0xff));
  }
}

TEST_CASE("fill_zero crossing a hole is refused and clears nothing") {
  GuestMemory m = make_three();
  REQUIRE(m.write(0x10000, std::vector<uint8_t>(3 * kPage, 0xff)));
  CHECK_FALSE(m.fill_zero(0x13000 - 8, 16));
  CHECK(snapshot(m, 0x10000, 3 * kPage) == std::vector<uint8_t>(3 * kPage, 0xff));
}

TEST_CASE("fill_zero past the end of RAM or overflowing 2^64 is refused") {
  GuestMemory m = make_three();
  REQUIRE(m.write(0x20000, std::vector<uint8_t>(2 * kPage, 0xff)));
  CHECK_FALSE(m.fill_zero(0x22000 - 8, 16));
  CHECK_FALSE(m.fill_zero(0x20000, kMax));
  CHECK(snapshot(m, 0x20000, 2 * kPage) == std::vector<uint8_t>(2 * kPage, 0xff));
}

TEST_CASE("fill_zero of len 0 succeeds in RAM and fails in a hole") {
  GuestMemory m = make_three();
  CHECK(m.fill_zero(0x10000, 0));
  CHECK_FALSE(m.fill_zero(0x15000, 0));
}

// --- read_obj() / write_obj() ---

TEST_CASE("write_obj and read_obj round-trip a struct across adjacent regions") {
  struct Obj {
    uint32_t a;
    uint64_t b;
  };
  GuestMemory m = make_three();
  REQUIRE(m.write_obj(0x12000 - 6, Obj{0x11223344, 0x5566778899aabbccull}));
  auto o = m.read_obj<Obj>(0x12000 - 6);
  REQUIRE(o.has_value());
  CHECK(o->a == 0x11223344);
  CHECK(o->b == 0x5566778899aabbccull);
}

TEST_CASE("read_obj stores little-endian values at the given gpa") {
  GuestMemory m = make_three();
  REQUIRE(m.write(0x20000, std::vector<uint8_t>{0x78, 0x56, 0x34, 0x12}));
  CHECK(m.read_obj<uint32_t>(0x20000) == uint32_t{0x12345678});
}

TEST_CASE("read_obj and write_obj crossing a hole or past RAM are refused") {
  GuestMemory m = make_three();
  CHECK_FALSE(m.read_obj<uint64_t>(0x13000 - 4).has_value());
  CHECK_FALSE(m.write_obj<uint64_t>(0x13000 - 4, ~0ull));
  CHECK_FALSE(m.read_obj<uint64_t>(0x22000 - 4).has_value());
  CHECK_FALSE(m.write_obj<uint64_t>(0x22000 - 4, ~0ull));
  CHECK_FALSE(m.read_obj<uint64_t>(kMax - 3).has_value());
  CHECK(m.read_obj<uint32_t>(0x13000 - 4) == uint32_t{0});
  CHECK(m.read_obj<uint32_t>(0x22000 - 4) == uint32_t{0});
}

// --- memfd() ---

TEST_CASE("memfd is valid and sized to the total of all regions") {
  GuestMemory m = make_three();
  REQUIRE(m.memfd() >= 0);
  CHECK(::lseek(m.memfd(), 0, SEEK_END) == static_cast<off_t>(5 * kPage));
}

TEST_CASE("memfd shares pages with the mapping in both directions") {
  GuestMemory m = make_three();
  // The third region starts at memfd offset 3 pages.
  std::array<uint8_t, 4> in{0xde, 0xad, 0xbe, 0xef};
  REQUIRE(::pwrite(m.memfd(), in.data(), in.size(), 3 * kPage + 0x10) == 4);
  CHECK(m.read_obj<uint32_t>(0x20010) == uint32_t{0xefbeadde});

  REQUIRE(m.write_obj<uint32_t>(0x12000, 0x01020304));
  std::array<uint8_t, 4> out{};
  REQUIRE(::pread(m.memfd(), out.data(), out.size(), 2 * kPage) == 4);
  CHECK(out == std::array<uint8_t, 4>{0x04, 0x03, 0x02, 0x01});
}

TEST_CASE("a moved-from guest memory's pages stay reachable through the new owner") {
  GuestMemory a = make_three();
  REQUIRE(a.write_obj<uint32_t>(0x10000, 77));
  GuestMemory b = std::move(a);
  CHECK(b.read_obj<uint32_t>(0x10000) == uint32_t{77});
  CHECK(b.memfd() >= 0);
}

// --- private anonymous backing ---

TEST_CASE("private backing: no memfd, 2 MiB aligned, same regions and checked accessors") {
  const std::array<RegionSpec, 2> specs{{{0, 4 << 20}, {8 << 20, 2 << 20}}};
  auto m = GuestMemory::create(specs, GuestMemoryBacking::private_anonymous);
  REQUIRE(m.has_value());
  CHECK(m->memfd() == -1);
  CHECK(m->total_size() == 6u << 20);
  REQUIRE(m->regions().size() == 2);
  CHECK(reinterpret_cast<uintptr_t>(m->regions()[0].host) % (2 << 20) == 0);
  CHECK(m->regions()[1].host == m->regions()[0].host + (4 << 20));
  // Fresh memory reads as zero; writes (including large, populated ones) round-trip.
  CHECK(m->read_obj<uint64_t>((8 << 20) + 16) == uint64_t{0});
  std::vector<uint8_t> big(1 << 20, 0x5a);
  REQUIRE(m->write(0x1000, big));
  std::vector<uint8_t> back(big.size());
  REQUIRE(m->read(0x1000, back));
  CHECK(back == big);
  REQUIRE(m->fill_zero(0x1000, 512 * 1024));
  CHECK(m->read_obj<uint8_t>(0x1000) == uint8_t{0});
  CHECK(m->read_obj<uint8_t>(0x1000 + 512 * 1024) == uint8_t{0x5a});
  // A range crossing the hole between the regions is still refused.
  CHECK_FALSE(m->write(4 << 20, std::span<const uint8_t>(big.data(), 16)));
}

TEST_CASE("private backing is named in smaps so tools can tell guest RAM apart") {
  const std::array<RegionSpec, 1> specs{{{0, 2 << 20}}};
  auto m = GuestMemory::create(specs, GuestMemoryBacking::private_anonymous);
  REQUIRE(m.has_value());
  std::ifstream maps("/proc/self/maps");
  std::string line, found;
  char addr[32];
  std::snprintf(addr, sizeof addr, "%lx-", reinterpret_cast<unsigned long>(m->regions()[0].host));
  while (std::getline(maps, line))
    if (line.rfind(addr, 0) == 0) found = line;
  REQUIRE_FALSE(found.empty());
  // Naming needs Linux 5.17 with CONFIG_ANON_VMA_NAME; on older kernels the line has no name.
  if (found.find('[') != std::string::npos)
    CHECK(found.find("[anon:minivmm-guest-ram]") != std::string::npos);
}

TEST_CASE("aligned anonymous mappings start on the alignment and refuse bad alignments") {
  auto m =
      Mapping::create_aligned_anonymous(3 * kPage, 1 << 21, PROT_READ | PROT_WRITE, MAP_PRIVATE);
  REQUIRE(m.has_value());
  CHECK(reinterpret_cast<uintptr_t>(m->data()) % (1 << 21) == 0);
  CHECK(m->size() == 3 * kPage);
  m->data()[3 * kPage - 1] = 1;
  CHECK_FALSE(Mapping::create_aligned_anonymous(kPage, 3 * kPage, PROT_READ, MAP_PRIVATE));
  CHECK_FALSE(Mapping::create_aligned_anonymous(kPage, 0, PROT_READ, MAP_PRIVATE));
}

// --- x86 layout ---

TEST_CASE("ram_regions below the 3 GiB gap is one region at 0") {
  auto r = x86::ram_regions(128ull << 20);
  REQUIRE(r.size() == 1);
  CHECK(r[0].gpa == 0);
  CHECK(r[0].size == 128ull << 20);
}

TEST_CASE("ram_regions of exactly 3 GiB is one region ending at the gap") {
  auto r = x86::ram_regions(x86::kMmioGapStart);
  REQUIRE(r.size() == 1);
  CHECK(r[0].size == x86::kMmioGapStart);
}

TEST_CASE("ram_regions above 3 GiB splits around the gap and continues at 4 GiB") {
  auto r = x86::ram_regions(x86::kMmioGapStart + kPage);
  REQUIRE(r.size() == 2);
  CHECK(r[0].gpa == 0);
  CHECK(r[0].size == x86::kMmioGapStart);
  CHECK(r[1].gpa == x86::kMmioGapEnd);
  CHECK(r[1].size == kPage);
}

TEST_CASE("the x86 gap holds the device window, IOAPIC and LAPIC") {
  static_assert(x86::kMmioGapStart < x86::kDeviceMmioStart);
  static_assert(x86::kDeviceMmioStart < x86::kDeviceMmioEnd);
  static_assert(x86::kDeviceMmioEnd <= x86::kIoapicAddr);
  static_assert(x86::kIoapicAddr < x86::kLapicAddr);
  static_assert(x86::kLapicAddr < x86::kMmioGapEnd);
  CHECK(x86::kMmioGapEnd == 4ull << 30);
}

TEST_CASE("a 5 GiB x86 layout refuses accesses in the gap and allows them above 4 GiB") {
  auto specs = x86::ram_regions(5ull << 30);
  GuestMemory m = make(specs);
  CHECK(m.end_gpa() == 6ull << 30);
  CHECK(m.total_size() == 5ull << 30);
  CHECK(m.contains(x86::kMmioGapStart - 8, 8));
  CHECK_FALSE(m.contains(x86::kMmioGapStart - 8, 16));
  CHECK_FALSE(m.contains(x86::kIoapicAddr, 4));
  CHECK_FALSE(m.write_obj<uint64_t>(x86::kMmioGapStart - 4, ~0ull));
  CHECK(m.read_obj<uint32_t>(x86::kMmioGapStart - 4) == uint32_t{0});
  REQUIRE(m.write_obj<uint64_t>(x86::kMmioGapEnd, 0x1234));
  CHECK(m.read_obj<uint64_t>(x86::kMmioGapEnd) == uint64_t{0x1234});
  // gpa 4 GiB lives at memfd offset 3 GiB.
  uint64_t v = 0;
  REQUIRE(::pread(m.memfd(), &v, sizeof v, static_cast<off_t>(x86::kMmioGapStart)) == 8);
  CHECK(v == 0x1234);
  CHECK(m.write_obj<uint64_t>(m.end_gpa() - 8, 1));
  CHECK_FALSE(m.write_obj<uint64_t>(m.end_gpa() - 4, 1));
}

}  // namespace
}  // namespace minivmm
