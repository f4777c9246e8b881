// Unit tests of the descriptor-chain walk (virtio v1.2 2.7.5, 2.7.5.3) through SplitQueue::pop:
// loops, out-of-range next, buffers outside RAM or crossing regions, zero-length descriptors,
// ordering, the 2^32 - 1 total cap and every indirect-table rule in HOSTILE-GUEST.md.
#include "devices/virtio/chain_walk.hpp"

#include <doctest/doctest.h>

#include "devices/virtio/split_queue.hpp"
#include "tests/support/mock_split_queue.hpp"
#include "tests/unit/devices/virtio/virtio_test_support.hpp"

namespace minivmm::virtio::test {
namespace {

constexpr uint64_t kRings = 0x1000;
constexpr uint64_t kBuf = 0x8'0000;
constexpr uint64_t kTable = 0x6'0000;
constexpr uint16_t kNext = VRING_DESC_F_NEXT;
constexpr uint16_t kWrite = VRING_DESC_F_WRITE;
constexpr uint16_t kIndirectFlag = VRING_DESC_F_INDIRECT;

struct WalkHarness {
  GuestMemory mem = make_test_memory();
  MockSplitQueue driver;
  SplitQueue queue;
  explicit WalkHarness(uint64_t features = kIndirect, uint16_t size = 8)
      : driver(mem, size, kRings), queue(driver.make_queue(features)) {}
  PopResult pop_head(uint16_t head) {
    driver.publish(head);
    return queue.pop(mem);
  }
  ChainFault fault_of(uint16_t head) {
    PopResult r = pop_head(head);
    if (r.status == PopStatus::chain) return ChainFault::none;
    REQUIRE(r.status == PopStatus::malformed);
    CHECK(r.has_head_to_complete);
    return r.fault;
  }
};

TEST_CASE("chain walk: a descriptor loop A->B->A ends as too long") {
  WalkHarness h;
  h.driver.write_desc(0, kBuf, 8, kNext, 1);
  h.driver.write_desc(1, kBuf, 8, kNext, 0);
  CHECK(h.fault_of(0) == ChainFault::too_long);
}

TEST_CASE("chain walk: a descriptor pointing at itself ends as too long") {
  WalkHarness h;
  h.driver.write_desc(3, kBuf, 8, kNext, 3);
  CHECK(h.fault_of(3) == ChainFault::too_long);
}

TEST_CASE("chain walk: a zero-length self loop still ends") {
  WalkHarness h;
  h.driver.write_desc(3, 0, 0, kNext, 3);
  CHECK(h.fault_of(3) == ChainFault::too_long);
}

TEST_CASE("chain walk: a chain of exactly queue size descriptors is accepted") {
  WalkHarness h(0, 4);
  for (uint16_t i = 0; i < 4; ++i)
    h.driver.write_desc(i, kBuf, 8, i < 3 ? kNext : 0, static_cast<uint16_t>(i + 1));
  PopResult r = h.pop_head(0);
  REQUIRE(r.status == PopStatus::chain);
  CHECK(r.chain.descriptors.size() == 4);
}

TEST_CASE("chain walk: next >= queue size is rejected") {
  WalkHarness h;
  h.driver.write_desc(0, kBuf, 8, kNext, 8);
  CHECK(h.fault_of(0) == ChainFault::next_out_of_range);
}

TEST_CASE("chain walk: a buffer beyond RAM is rejected") {
  WalkHarness h;
  h.driver.write_desc(0, kRamEnd - 4, 8, 0, 0);
  CHECK(h.fault_of(0) == ChainFault::buffer_outside_ram);
}

TEST_CASE("chain walk: a buffer whose addr + len overflows 64 bits is rejected") {
  WalkHarness h;
  h.driver.write_desc(0, 0xffff'ffff'ffff'fff0, 0x20, 0, 0);
  CHECK(h.fault_of(0) == ChainFault::buffer_outside_ram);
}

TEST_CASE("chain walk: a buffer crossing a hole is rejected") {
  WalkHarness h;
  h.driver.write_desc(0, kHole - 8, 16, kWrite, 0);
  CHECK(h.fault_of(0) == ChainFault::buffer_outside_ram);
}

TEST_CASE("chain walk: a buffer spanning two adjacent regions is accepted whole") {
  WalkHarness h;
  h.driver.write_desc(0, kRegion2 - 8, 16, 0, 0);
  PopResult r = h.pop_head(0);
  REQUIRE(r.status == PopStatus::chain);
  CHECK(r.chain.descriptors[0].len == 16);
}

TEST_CASE("chain walk: zero-length descriptors are dropped") {
  WalkHarness h;
  h.driver.write_desc(0, kBuf, 8, kNext, 1);
  h.driver.write_desc(1, 0xdead'beef'0000, 0, kNext, 2);  // would be outside RAM if read
  h.driver.write_desc(2, kBuf + 64, 8, kWrite, 0);
  PopResult r = h.pop_head(0);
  REQUIRE(r.status == PopStatus::chain);
  REQUIRE(r.chain.descriptors.size() == 2);
  CHECK(r.chain.descriptors[1].addr == kBuf + 64);
}

TEST_CASE("chain walk: a readable descriptor after a writable one is rejected") {
  WalkHarness h;
  h.driver.write_desc(0, kBuf, 8, kWrite | kNext, 1);
  h.driver.write_desc(1, kBuf, 8, 0, 0);
  CHECK(h.fault_of(0) == ChainFault::readable_after_writable);
}

TEST_CASE("chain walk: length 0xFFFFFFFF is accepted without a proportional allocation") {
  // 6 GiB of sparse guest RAM costs nothing (MAP_NORESERVE memfd).
  RegionSpec specs[] = {{0, 0x1'8000'0000}};
  GuestMemory mem = GuestMemory::create(specs).value();
  MockSplitQueue driver(mem, 8, kRings);
  SplitQueue q = driver.make_queue();
  driver.write_desc(0, 0x1000'0000, 0xffff'ffff, kWrite, 0);
  driver.publish(0);
  PopResult r = q.pop(mem);
  REQUIRE(r.status == PopStatus::chain);
  CHECK(r.chain.writable_len == 0xffff'ffff);
  CHECK(r.chain.descriptors.size() == 1);
}

TEST_CASE("chain walk: a total chain length above 2^32 - 1 is rejected") {
  RegionSpec specs[] = {{0, 0x1'8000'0000}};
  GuestMemory mem = GuestMemory::create(specs).value();
  MockSplitQueue driver(mem, 8, kRings);
  SplitQueue q = driver.make_queue();
  driver.write_desc(0, 0x1000'0000, 0xffff'ffff, kNext, 1);
  driver.write_desc(1, 0x1000'0000, 1, 0, 0);
  driver.publish(0);
  PopResult r = q.pop(mem);
  REQUIRE(r.status == PopStatus::malformed);
  CHECK(r.fault == ChainFault::total_too_long);
}

TEST_CASE("chain walk: an indirect chain is walked through its table") {
  WalkHarness h;
  uint16_t head = h.driver.add_indirect_chain(
      kTable, {{kBuf, 16, false}, {kBuf + 0x100, 512, true}, {kBuf + 0x400, 1, true}});
  PopResult r = h.pop_head(head);
  REQUIRE(r.status == PopStatus::chain);
  CHECK(r.chain.head == head);
  REQUIRE(r.chain.descriptors.size() == 3);
  CHECK(r.chain.readable_len == 16);
  CHECK(r.chain.writable_len == 513);
}

TEST_CASE("chain walk: direct descriptors may precede an indirect one") {
  WalkHarness h;
  h.driver.write_desc_at(kTable, kBuf + 0x100, 32, kWrite, 0);
  h.driver.write_desc(0, kBuf, 8, kNext, 1);
  h.driver.write_desc(1, kTable, 16, kIndirectFlag, 0);
  PopResult r = h.pop_head(0);
  REQUIRE(r.status == PopStatus::chain);
  CHECK(r.chain.descriptors.size() == 2);
}

TEST_CASE("chain walk: the WRITE flag on the indirect descriptor itself is ignored") {
  WalkHarness h;
  h.driver.write_desc_at(kTable, kBuf, 8, 0, 0);
  h.driver.write_desc(0, kTable, 16, kIndirectFlag | kWrite, 0);
  PopResult r = h.pop_head(0);
  REQUIRE(r.status == PopStatus::chain);
  CHECK_FALSE(r.chain.descriptors[0].device_writable);
}

TEST_CASE("chain walk: INDIRECT without the negotiated feature is rejected") {
  WalkHarness h(0);
  uint16_t head = h.driver.add_indirect_chain(kTable, {{kBuf, 16, false}});
  CHECK(h.fault_of(head) == ChainFault::indirect_not_negotiated);
}

TEST_CASE("chain walk: a nested indirect table is rejected") {
  WalkHarness h;
  h.driver.write_desc_at(kTable, kTable + 0x100, 16, kIndirectFlag, 0);
  h.driver.write_desc_at(kTable + 0x100, kBuf, 8, 0, 0);
  h.driver.write_desc(0, kTable, 16, kIndirectFlag, 0);
  CHECK(h.fault_of(0) == ChainFault::indirect_nested);
}

TEST_CASE("chain walk: an indirect table of length 0 or not a multiple of 16 is rejected") {
  WalkHarness h;
  h.driver.write_desc(0, kTable, 0, kIndirectFlag, 0);
  CHECK(h.fault_of(0) == ChainFault::indirect_bad_table);
  h.driver.write_desc(1, kTable, 24, kIndirectFlag, 0);
  CHECK(h.fault_of(1) == ChainFault::indirect_bad_table);
}

TEST_CASE("chain walk: an indirect table outside RAM or too large is rejected") {
  WalkHarness h;
  h.driver.write_desc(0, kRamEnd - 16, 32, kIndirectFlag, 0);
  CHECK(h.fault_of(0) == ChainFault::indirect_bad_table);
  h.driver.write_desc(1, kHole - 16, 32, kIndirectFlag, 0);
  CHECK(h.fault_of(1) == ChainFault::indirect_bad_table);
  h.driver.write_desc(2, 0, 16 * (kMaxQueueSize + 1), kIndirectFlag, 0);
  CHECK(h.fault_of(2) == ChainFault::indirect_bad_table);
}

TEST_CASE("chain walk: an indirect table with more entries than the queue size is rejected") {
  WalkHarness h(kIndirect, 8);
  std::vector<Buf> nine(9, Buf{kBuf, 8, false});
  uint16_t head = h.driver.add_indirect_chain(kTable, nine);
  CHECK(h.fault_of(head) == ChainFault::indirect_bad_table);
  std::vector<Buf> eight(8, Buf{kBuf, 8, false});
  uint16_t head2 = h.driver.add_indirect_chain(kTable + 0x200, eight);
  PopResult r = h.pop_head(head2);
  REQUIRE(r.status == PopStatus::chain);
  CHECK(r.chain.descriptors.size() == 8);
}

TEST_CASE("chain walk: a loop inside an indirect table ends as too long") {
  WalkHarness h;
  h.driver.write_desc_at(kTable, kBuf, 8, kNext, 1);
  h.driver.write_desc_at(kTable + 16, kBuf, 8, kNext, 0);
  h.driver.write_desc(0, kTable, 32, kIndirectFlag, 0);
  CHECK(h.fault_of(0) == ChainFault::too_long);
}

TEST_CASE("chain walk: next beyond the indirect table's entry count is rejected") {
  WalkHarness h;
  h.driver.write_desc_at(kTable, kBuf, 8, kNext, 2);
  h.driver.write_desc(0, kTable, 32, kIndirectFlag, 0);
  CHECK(h.fault_of(0) == ChainFault::next_out_of_range);
}

TEST_CASE("chain walk: INDIRECT together with NEXT is rejected") {
  WalkHarness h;
  h.driver.write_desc_at(kTable, kBuf, 8, 0, 0);
  h.driver.write_desc(0, kTable, 16, kIndirectFlag | kNext, 1);
  h.driver.write_desc(1, kBuf, 8, 0, 0);
  CHECK(h.fault_of(0) == ChainFault::indirect_with_next);
}

TEST_CASE("chain walk: a malformed descriptor in an indirect table rejects the chain") {
  WalkHarness h;
  uint16_t head = h.driver.add_indirect_chain(kTable, {{kBuf, 8, true}, {kBuf, 8, false}});
  CHECK(h.fault_of(head) == ChainFault::readable_after_writable);
  uint16_t head2 = h.driver.add_indirect_chain(kTable + 0x100, {{kRamEnd, 8, false}});
  CHECK(h.fault_of(head2) == ChainFault::buffer_outside_ram);
}

}  // namespace
}  // namespace minivmm::virtio::test
