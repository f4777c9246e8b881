// Unit tests of SplitQueue: validation at activation, pop/add_used on well-formed rings, the
// avail-index and in-flight checks (HOSTILE-GUEST.md "Split virtqueue"), wrap-around, and
// notification suppression with and without VIRTIO_RING_F_EVENT_IDX. Chain-walk faults are in
// chain_walk_test.cpp.
#include "devices/virtio/split_queue.hpp"

#include <doctest/doctest.h>

#include "tests/support/mock_split_queue.hpp"
#include "tests/unit/devices/virtio/virtio_test_support.hpp"

namespace minivmm::virtio::test {
namespace {

constexpr uint64_t kRings = 0x1000;
constexpr uint64_t kBuf = 0x8'0000;

struct QueueHarness {
  GuestMemory mem = make_test_memory();
  MockSplitQueue driver;
  SplitQueue queue;
  explicit QueueHarness(uint16_t size = 8, uint64_t features = 0)
      : driver(mem, size, kRings), queue(driver.make_queue(features)) {}
  PopResult pop() { return queue.pop(mem); }
};

SplitQueue configured(uint32_t size, uint64_t desc, uint64_t avail, uint64_t used,
                      uint16_t max = 256) {
  SplitQueue q(max);
  q.set_size(size);
  q.set_desc_table(desc);
  q.set_avail_ring(avail);
  q.set_used_ring(used);
  q.set_ready(true);
  return q;
}

QueueConfigError validate(SplitQueue q, std::span<const AddressRange> forbidden = {}) {
  GuestMemory mem = make_test_memory();
  return q.validate(mem, forbidden, 0);
}

TEST_CASE("split queue: a valid configuration activates the queue") {
  QueueHarness h;
  CHECK(h.queue.active());
  CHECK(h.queue.next_avail() == 0);
  CHECK(h.queue.next_used() == 0);
}

TEST_CASE("split queue: size 0, not a power of two or above the maximum is rejected") {
  CHECK(validate(configured(0, 0x1000, 0x2000, 0x3000)) == QueueConfigError::bad_size);
  CHECK(validate(configured(3, 0x1000, 0x2000, 0x3000)) == QueueConfigError::bad_size);
  CHECK(validate(configured(512, 0x1000, 0x8000, 0xa000, 256)) == QueueConfigError::bad_size);
  CHECK(validate(configured(65536, 0x1000, 0x2000, 0x3000, 0xffff)) == QueueConfigError::bad_size);
  CHECK(validate(configured(256, 0x1000, 0x2000, 0x3000, 256)) == QueueConfigError::ok);
}

TEST_CASE("split queue: misaligned rings are rejected") {
  CHECK(validate(configured(8, 0x1008, 0x2000, 0x3000)) == QueueConfigError::misaligned);
  CHECK(validate(configured(8, 0x1000, 0x2001, 0x3000)) == QueueConfigError::misaligned);
  CHECK(validate(configured(8, 0x1000, 0x2000, 0x3002)) == QueueConfigError::misaligned);
}

TEST_CASE("split queue: a ring past RAM, in a hole, across regions or overflowing is rejected") {
  CHECK(validate(configured(8, kRamEnd - 0x40, 0x2000, 0x3000)) == QueueConfigError::outside_ram);
  CHECK(validate(configured(8, 0x1000, kHole + 0x100, 0x3000)) == QueueConfigError::outside_ram);
  CHECK(validate(configured(8, 0x1000, 0x2000, kRegion2 - 0x20)) == QueueConfigError::outside_ram);
  CHECK(validate(configured(8, 0xffff'ffff'ffff'fff0, 0x2000, 0x3000)) ==
        QueueConfigError::outside_ram);
}

TEST_CASE("split queue: a ring inside a forbidden MMIO window is rejected") {
  AddressRange windows[] = {{0x3000, 0x200}};
  CHECK(validate(configured(8, 0x1000, 0x2000, 0x2ff0), windows) ==
        QueueConfigError::in_forbidden_window);
  CHECK(validate(configured(8, 0x1000, 0x2000, 0x3100), windows) ==
        QueueConfigError::in_forbidden_window);
  CHECK(validate(configured(8, 0x1000, 0x2000, 0x3200), windows) == QueueConfigError::ok);
}

TEST_CASE("split queue: a queue that is not ready stays inactive and pops nothing") {
  GuestMemory mem = make_test_memory();
  SplitQueue q = configured(8, 0x1000, 0x2000, 0x3000);
  q.set_ready(false);
  CHECK(q.validate(mem, {}, 0) == QueueConfigError::not_ready);
  CHECK_FALSE(q.active());
  CHECK(q.pop(mem).status == PopStatus::empty);
  CHECK_FALSE(q.add_used(mem, 0, 0));
}

TEST_CASE("split queue: pop of an empty ring reports empty") {
  QueueHarness h;
  CHECK(h.pop().status == PopStatus::empty);
}

TEST_CASE("split queue: pop returns a simple readable chain") {
  QueueHarness h;
  uint16_t head = h.driver.add_chain({{kBuf, 64, false}});
  h.driver.publish(head);
  PopResult r = h.pop();
  REQUIRE(r.status == PopStatus::chain);
  CHECK(r.chain.head == head);
  REQUIRE(r.chain.descriptors.size() == 1);
  CHECK(r.chain.descriptors[0].addr == kBuf);
  CHECK(r.chain.descriptors[0].len == 64);
  CHECK_FALSE(r.chain.descriptors[0].device_writable);
  CHECK(r.chain.readable_len == 64);
  CHECK(r.chain.writable_len == 0);
  CHECK(h.queue.in_flight() == 1);
  CHECK(h.pop().status == PopStatus::empty);
}

TEST_CASE("split queue: pop returns readable then writable descriptors in order") {
  QueueHarness h;
  h.driver.publish(h.driver.add_chain({{kBuf, 16, false},
                                       {kBuf + 0x100, 512, false},
                                       {kBuf + 0x400, 512, true},
                                       {kBuf + 0x800, 1, true}}));
  PopResult r = h.pop();
  REQUIRE(r.status == PopStatus::chain);
  REQUIRE(r.chain.descriptors.size() == 4);
  CHECK_FALSE(r.chain.descriptors[1].device_writable);
  CHECK(r.chain.descriptors[2].device_writable);
  CHECK(r.chain.descriptors[3].addr == kBuf + 0x800);
  CHECK(r.chain.readable_len == 528);
  CHECK(r.chain.writable_len == 513);
}

TEST_CASE("split queue: add_used writes the element and publishes used idx") {
  QueueHarness h;
  uint16_t head = h.driver.add_chain({{kBuf, 8, true}});
  h.driver.publish(head);
  REQUIRE(h.pop().status == PopStatus::chain);
  CHECK(h.driver.used_idx() == 0);
  CHECK(h.queue.add_used(h.mem, head, 8));
  CHECK(h.driver.used_idx() == 1);
  CHECK(h.driver.used_elem(0).id == head);
  CHECK(h.driver.used_elem(0).len == 8);
  CHECK(h.queue.in_flight() == 0);
}

TEST_CASE("split queue: add_used refuses a head that is not in flight") {
  QueueHarness h;
  CHECK_FALSE(h.queue.add_used(h.mem, 0, 1));
  CHECK_FALSE(h.queue.add_used(h.mem, 100, 1));
  CHECK(h.driver.used_idx() == 0);
  uint16_t head = h.driver.add_chain({{kBuf, 8, true}});
  h.driver.publish(head);
  REQUIRE(h.pop().status == PopStatus::chain);
  CHECK(h.queue.add_used(h.mem, head, 1));
  CHECK_FALSE(h.queue.add_used(h.mem, head, 1));
  CHECK(h.driver.used_idx() == 1);
}

TEST_CASE("split queue: chains in flight can be completed out of order") {
  QueueHarness h;
  uint16_t a = h.driver.add_chain({{kBuf, 8, true}});
  uint16_t b = h.driver.add_chain({{kBuf + 0x100, 8, true}});
  uint16_t c = h.driver.add_chain({{kBuf + 0x200, 8, true}});
  for (uint16_t x : {a, b, c}) h.driver.publish(x);
  for (int i = 0; i < 3; ++i) REQUIRE(h.pop().status == PopStatus::chain);
  CHECK(h.queue.in_flight() == 3);
  CHECK(h.queue.add_used(h.mem, c, 3));
  CHECK(h.queue.add_used(h.mem, a, 1));
  CHECK(h.queue.add_used(h.mem, b, 2));
  CHECK(h.driver.used_idx() == 3);
  CHECK(h.driver.used_elem(0).id == c);
  CHECK(h.driver.used_elem(1).id == a);
  CHECK(h.driver.used_elem(2).id == b);
}

TEST_CASE("split queue: indices wrap around past 65535") {
  QueueHarness h(4);
  for (uint32_t i = 0; i < 70'000; ++i) {
    uint16_t head = h.driver.add_chain({{kBuf, 4, true}});
    h.driver.publish(head);
    PopResult r = h.pop();
    REQUIRE(r.status == PopStatus::chain);
    REQUIRE(r.chain.head == head);
    REQUIRE(h.queue.add_used(h.mem, head, i));
  }
  CHECK(h.queue.next_avail() == static_cast<uint16_t>(70'000));
  CHECK(h.driver.used_idx() == static_cast<uint16_t>(70'000));
  CHECK(h.driver.used_elem(static_cast<uint16_t>(69'999)).len == 69'999);
}

TEST_CASE("split queue: avail idx more than queue size ahead breaks the queue for good") {
  QueueHarness h(8);
  h.driver.set_avail_idx(9);
  CHECK(h.pop().status == PopStatus::broken);
  CHECK(h.queue.broken());
  h.driver.set_avail_idx(1);
  CHECK(h.pop().status == PopStatus::broken);
  CHECK_FALSE(h.queue.enable_notification(h.mem));
}

TEST_CASE("split queue: avail idx moving backwards breaks the queue, nothing is reprocessed") {
  QueueHarness h(8);
  uint16_t head = h.driver.add_chain({{kBuf, 4, true}});
  h.driver.publish(head);
  REQUIRE(h.pop().status == PopStatus::chain);
  REQUIRE(h.queue.add_used(h.mem, head, 0));
  h.driver.set_avail_idx(0);
  CHECK(h.pop().status == PopStatus::broken);
  CHECK(h.driver.used_idx() == 1);
}

TEST_CASE("split queue: exactly queue size entries ahead is accepted") {
  QueueHarness h(4);
  for (int i = 0; i < 4; ++i) h.driver.publish(h.driver.add_chain({{kBuf, 4, true}}));
  for (int i = 0; i < 4; ++i) CHECK(h.pop().status == PopStatus::chain);
  CHECK(h.pop().status == PopStatus::empty);
}

TEST_CASE("split queue: a head index >= queue size is malformed and nothing is completed") {
  QueueHarness h(8);
  h.driver.publish(8);
  PopResult r = h.pop();
  CHECK(r.status == PopStatus::malformed);
  CHECK(r.fault == ChainFault::head_out_of_range);
  CHECK_FALSE(r.has_head_to_complete);
  CHECK(h.queue.malformed_count() == 1);
  CHECK(h.pop().status == PopStatus::empty);
}

TEST_CASE("split queue: the same head published twice while in flight is not completed twice") {
  QueueHarness h(8);
  uint16_t head = h.driver.add_chain({{kBuf, 4, true}});
  h.driver.publish(head);
  h.driver.publish(head);
  REQUIRE(h.pop().status == PopStatus::chain);
  PopResult dup = h.pop();
  CHECK(dup.status == PopStatus::malformed);
  CHECK(dup.fault == ChainFault::head_in_flight);
  CHECK_FALSE(dup.has_head_to_complete);
  CHECK(h.queue.add_used(h.mem, head, 4));
  CHECK_FALSE(h.queue.add_used(h.mem, head, 4));
  CHECK(h.driver.used_idx() == 1);
  // Once completed, the driver may legitimately reuse the head.
  h.driver.publish(head);
  CHECK(h.pop().status == PopStatus::chain);
}

TEST_CASE("split queue: a malformed chain hands its head back for completion with len 0") {
  QueueHarness h(8);
  h.driver.write_desc(2, kHole, 16, 0, 0);
  h.driver.publish(2);
  PopResult r = h.pop();
  REQUIRE(r.status == PopStatus::malformed);
  CHECK(r.fault == ChainFault::buffer_outside_ram);
  REQUIRE(r.has_head_to_complete);
  CHECK(r.head_to_complete == 2);
  CHECK(h.queue.add_used(h.mem, 2, 0));
  CHECK(h.driver.used_idx() == 1);
  CHECK(h.driver.used_elem(0).id == 2);
  CHECK(h.driver.used_elem(0).len == 0);
}

TEST_CASE("split queue: the device never reads back its own used ring") {
  QueueHarness h(4);
  for (uint16_t i = 0; i < 3; ++i) {
    uint16_t head = h.driver.add_chain({{kBuf, 4, true}});
    h.driver.publish(head);
    REQUIRE(h.pop().status == PopStatus::chain);
    h.driver.scribble_used(0xee);
    REQUIRE(h.queue.add_used(h.mem, head, 7));
    CHECK(h.driver.used_idx() == i + 1);
    CHECK(h.driver.used_elem(i).id == head);
  }
}

TEST_CASE("split queue: without EVENT_IDX, avail flags NO_INTERRUPT suppresses notification") {
  QueueHarness h(8);
  uint16_t head = h.driver.add_chain({{kBuf, 4, true}});
  h.driver.publish(head);
  REQUIRE(h.pop().status == PopStatus::chain);
  REQUIRE(h.queue.add_used(h.mem, head, 0));
  CHECK(h.queue.needs_notification(h.mem));
  h.driver.set_avail_flags(VRING_AVAIL_F_NO_INTERRUPT);
  CHECK_FALSE(h.queue.needs_notification(h.mem));
}

TEST_CASE(
    "split queue: with EVENT_IDX, notification happens only when used idx passes used_event") {
  QueueHarness h(8, kEventIdx);
  auto complete_one = [&] {
    uint16_t head = h.driver.add_chain({{kBuf, 4, true}});
    h.driver.publish(head);
    REQUIRE(h.pop().status == PopStatus::chain);
    REQUIRE(h.queue.add_used(h.mem, head, 0));
  };
  // NO_INTERRUPT is ignored with EVENT_IDX.
  h.driver.set_avail_flags(VRING_AVAIL_F_NO_INTERRUPT);
  h.driver.set_used_event(0);
  complete_one();  // used idx 1: crosses used_event 0
  CHECK(h.queue.needs_notification(h.mem));
  complete_one();  // used idx 2, last signalled 1, used_event 0: not crossed
  CHECK_FALSE(h.queue.needs_notification(h.mem));
  h.driver.set_used_event(3);
  complete_one();  // used idx 3: event 3 not yet passed (needs idx > 3)
  CHECK_FALSE(h.queue.needs_notification(h.mem));
  complete_one();  // used idx 4: passes 3
  CHECK(h.queue.needs_notification(h.mem));
}

TEST_CASE("split queue: with EVENT_IDX, several completions since the last signal notify once") {
  QueueHarness h(8, kEventIdx);
  auto complete = [&](int n) {
    for (int i = 0; i < n; ++i) {
      uint16_t head = h.driver.add_chain({{kBuf, 4, true}});
      h.driver.publish(head);
      REQUIRE(h.pop().status == PopStatus::chain);
      REQUIRE(h.queue.add_used(h.mem, head, 0));
    }
  };
  complete(1);
  CHECK(h.queue.needs_notification(h.mem));  // used idx 1
  h.driver.set_used_event(1);
  complete(3);  // used idx 4: the batch 1..4 passed used_event 1
  CHECK(h.queue.needs_notification(h.mem));
  CHECK_FALSE(h.queue.needs_notification(h.mem));
}

TEST_CASE("split queue: with EVENT_IDX, enable_notification writes avail_event") {
  QueueHarness h(8, kEventIdx);
  h.driver.publish(h.driver.add_chain({{kBuf, 4, true}}));
  CHECK(h.queue.enable_notification(h.mem));  // an entry is already available
  CHECK(h.driver.avail_event() == 0);
  REQUIRE(h.pop().status == PopStatus::chain);
  CHECK_FALSE(h.queue.enable_notification(h.mem));
  CHECK(h.driver.avail_event() == 1);
  h.queue.disable_notification(h.mem);
  CHECK(h.driver.used_flags() == 0);
}

TEST_CASE("split queue: without EVENT_IDX, disable/enable_notification toggle NO_NOTIFY") {
  QueueHarness h(8);
  h.queue.disable_notification(h.mem);
  CHECK(h.driver.used_flags() == VRING_USED_F_NO_NOTIFY);
  CHECK_FALSE(h.queue.enable_notification(h.mem));
  CHECK(h.driver.used_flags() == 0);
  h.driver.publish(h.driver.add_chain({{kBuf, 4, true}}));
  h.queue.disable_notification(h.mem);
  CHECK(h.queue.enable_notification(h.mem));
}

TEST_CASE("split queue: kicks on an empty ring do no work") {
  QueueHarness h(8);
  for (int i = 0; i < 100'000; ++i) REQUIRE(h.pop().status == PopStatus::empty);
  CHECK(h.driver.used_idx() == 0);
}

}  // namespace
}  // namespace minivmm::virtio::test
