// Unit tests of SplitQueue::restore_indices (resuming a ring another party drove, e.g. a dead
// vhost-user backend): pop and add_used continue from the given indices, nothing stays in
// flight, the next needs_notification() is true, a broken flag is cleared, the avail-index check
// still applies afterwards, and an inactive queue is left alone.
#include "devices/virtio/split_queue.hpp"

#include <doctest/doctest.h>

#include "tests/support/mock_split_queue.hpp"
#include "tests/unit/devices/virtio/virtio_test_support.hpp"

namespace minivmm::virtio::test {
namespace {

constexpr uint64_t kRings = 0x1000;
constexpr uint64_t kBuf = 0x8'0000;

TEST_CASE("split queue restore: pop and add_used continue from the restored indices") {
  GuestMemory mem = make_test_memory();
  MockSplitQueue driver(mem, 8, kRings);
  SplitQueue q = driver.make_queue();
  for (int i = 0; i < 3; ++i) driver.publish(driver.add_chain({{kBuf + 64ull * i, 16, true}}));
  REQUIRE(q.restore_indices(2, 2));
  CHECK(q.next_avail() == 2);
  CHECK(q.next_used() == 2);
  PopResult r = q.pop(mem);
  REQUIRE(r.status == PopStatus::chain);
  CHECK(r.chain.head == 2);  // the third chain
  REQUIRE(q.add_used(mem, r.chain.head, 5));
  CHECK(driver.used_idx() == 3);
  CHECK(driver.used_elem(2).id == 2);
  CHECK(driver.used_elem(2).len == 5);
  CHECK(q.pop(mem).status == PopStatus::empty);
}

TEST_CASE("split queue restore: in-flight heads are forgotten and the broken flag cleared") {
  GuestMemory mem = make_test_memory();
  MockSplitQueue driver(mem, 8, kRings);
  SplitQueue q = driver.make_queue();
  driver.publish(driver.add_chain({{kBuf, 16, true}}));
  REQUIRE(q.pop(mem).status == PopStatus::chain);
  CHECK(q.in_flight() == 1);
  driver.set_avail_idx(100);  // corrupt: breaks the ring
  CHECK(q.pop(mem).status == PopStatus::broken);
  driver.set_avail_idx(1);
  REQUIRE(q.restore_indices(0, 0));
  CHECK(q.in_flight() == 0);
  CHECK_FALSE(q.broken());
  PopResult r = q.pop(mem);
  REQUIRE(r.status == PopStatus::chain);  // the same head again, now completable once
  CHECK(q.add_used(mem, r.chain.head, 0));
  CHECK_FALSE(q.add_used(mem, r.chain.head, 0));
}

TEST_CASE("split queue restore: the next completion always notifies with EVENT_IDX") {
  GuestMemory mem = make_test_memory();
  MockSplitQueue driver(mem, 8, kRings);
  SplitQueue q = driver.make_queue(kEventIdx);
  driver.set_avail_idx(4);
  driver.set_used_event(0);  // the driver asked for an interrupt at used index 1 only
  REQUIRE(q.restore_indices(4, 4));
  driver.publish(driver.add_chain({{kBuf, 16, true}}));
  PopResult r = q.pop(mem);
  REQUIRE(r.status == PopStatus::chain);
  REQUIRE(q.add_used(mem, r.chain.head, 1));
  CHECK(q.needs_notification(mem));
}

TEST_CASE("split queue restore: avail.idx is still checked against the restored index") {
  GuestMemory mem = make_test_memory();
  MockSplitQueue driver(mem, 8, kRings);
  SplitQueue q = driver.make_queue();
  driver.set_avail_idx(3);
  REQUIRE(q.restore_indices(60000, 60000));  // a bogus used.idx
  CHECK(q.pop(mem).status == PopStatus::broken);
}

TEST_CASE("split queue restore: an inactive queue is not changed") {
  SplitQueue q(8);
  CHECK_FALSE(q.restore_indices(3, 3));
  CHECK(q.next_avail() == 0);
}

}  // namespace
}  // namespace minivmm::virtio::test
