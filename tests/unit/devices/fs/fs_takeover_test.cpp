// Unit tests of FsTakeover with MockSplitQueue rings: pending requests get ENOTCONN replies with
// the right unique as soon as the takeover starts; the queue resumes from the used.idx the
// backend left (requests it completed are not answered again); malformed chains come back with
// used length 0; new requests are answered on a kick; the interrupt is raised; a corrupt ring
// asks for a reset; and nothing is touched after stop().
#include "devices/fs/fs_takeover.hpp"

#include <linux/fuse.h>
#include <linux/virtio_config.h>

#include <boost/asio/io_context.hpp>
#include <cerrno>

#include <doctest/doctest.h>

#include "tests/unit/devices/fs/fs_test_support.hpp"

namespace minivmm::fs {
namespace {

TEST_SUITE_BEGIN("fs/takeover");

using test::Arena;
using test::Buf;

constexpr uint64_t kFeatures = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX);

struct Fixture {
  GuestMemory mem = test::make_memory();
  test::QueueSet qs{mem, 2, 16, kFeatures};
  Arena arena{mem, 0x100000};
  boost::asio::io_context io;
  std::shared_ptr<virtio::VirtioInterrupt> irq =
      std::make_shared<virtio::VirtioInterrupt>(EventFd::create(EFD_NONBLOCK).value());
  std::shared_ptr<FsTakeover> t;

  /// Publishes a FUSE request with a 16 + 64 byte reply buffer on queue `q`; returns the reply's
  /// guest address.
  uint64_t request(size_t q, uint32_t opcode, uint64_t unique) {
    auto req = test::fuse_request(opcode, unique, 1, std::vector<uint8_t>(8, 0));
    uint64_t in = arena.put(req);
    uint64_t out = arena.alloc(80);
    qs.drivers[q].publish(qs.drivers[q].add_chain(
        {Buf{in, static_cast<uint32_t>(req.size()), false}, Buf{out, 80, true}}));
    return out;
  }
  void start() {
    t = std::make_shared<FsTakeover>(mem, qs.queues, qs.kicks, irq, io, ENOTCONN);
    REQUIRE(t->start().has_value());
  }
  void run() {
    io.restart();
    io.poll();
  }
  ~Fixture() {
    if (t) t->stop();
  }
};

TEST_CASE("pending requests are answered with ENOTCONN and their unique at start") {
  Fixture f;
  uint64_t a = f.request(1, FUSE_LOOKUP, 100);
  uint64_t b = f.request(1, FUSE_READ, 101);
  uint64_t h = f.request(0, FUSE_INTERRUPT, 102);
  f.start();
  CHECK(f.qs.drivers[1].used_idx() == 2);
  CHECK(f.qs.drivers[0].used_idx() == 1);
  for (auto [gpa, unique] : {std::pair{a, 100ull}, {b, 101ull}, {h, 102ull}}) {
    fuse_out_header o = test::read_out_header(f.mem, gpa);
    CHECK(o.len == 16);
    CHECK(o.error == -ENOTCONN);
    CHECK(o.unique == unique);
  }
  CHECK(f.qs.drivers[1].used_elem(0).len == 16);
  CHECK(f.irq->signal_count() >= 1);
  CHECK(f.t->counters().requests_failed == 3);
}

TEST_CASE("the queue resumes from the used.idx the backend left") {
  Fixture f;
  uint64_t done1 = f.request(1, FUSE_LOOKUP, 1);
  uint64_t done2 = f.request(1, FUSE_LOOKUP, 2);
  uint64_t pending = f.request(1, FUSE_LOOKUP, 3);
  // The backend completed the first two (in order) before it died.
  f.mem.write_obj<uint16_t>(f.qs.drivers[1].used_ring() + 2, 2);
  f.start();
  CHECK(f.qs.drivers[1].used_idx() == 3);
  CHECK(f.qs.drivers[1].used_elem(2).id == 4);  // the third chain's head (2 descriptors each)
  CHECK(test::read_out_header(f.mem, pending).unique == 3);
  CHECK(f.mem.read_obj<uint32_t>(done1).value() == 0xeeeeeeee);
  CHECK(f.mem.read_obj<uint32_t>(done2).value() == 0xeeeeeeee);
  CHECK(f.t->counters().requests_failed == 1);
}

TEST_CASE("malformed chains are returned with used length 0") {
  Fixture f;
  uint64_t in = f.arena.put(std::vector<uint8_t>(20, 1));  // shorter than fuse_in_header
  uint64_t out = f.arena.alloc(64);
  auto& d = f.qs.drivers[1];
  d.publish(d.add_chain({Buf{in, 20, false}, Buf{out, 64, true}}));
  auto forget = test::fuse_request(FUSE_FORGET, 9, 2, std::vector<uint8_t>(8, 0));
  uint64_t fin = f.arena.put(forget);
  f.qs.drivers[0].publish(
      f.qs.drivers[0].add_chain({Buf{fin, static_cast<uint32_t>(forget.size()), false}}));
  f.start();
  CHECK(d.used_idx() == 1);
  CHECK(d.used_elem(0).len == 0);
  CHECK(f.qs.drivers[0].used_elem(0).len == 0);
  CHECK(f.mem.read_obj<uint32_t>(out).value() == 0xeeeeeeee);
  CHECK(f.t->counters().malformed == 1);
  CHECK(f.t->counters().no_reply == 1);
  CHECK(f.t->counters().requests_failed == 0);
}

TEST_CASE("a request published later is answered on the kick") {
  Fixture f;
  f.start();
  uint64_t signals = f.irq->signal_count();
  uint64_t out = f.request(1, FUSE_OPEN, 555);
  f.qs.kicks[1].signal();
  f.run();
  CHECK(f.qs.drivers[1].used_idx() == 1);
  CHECK(test::read_out_header(f.mem, out).unique == 555);
  CHECK(f.irq->signal_count() == signals + 1);
}

TEST_CASE("nothing is answered after stop") {
  Fixture f;
  f.start();
  f.t->stop();
  f.request(1, FUSE_OPEN, 1);
  f.qs.kicks[1].signal();
  f.run();
  CHECK(f.qs.drivers[1].used_idx() == 0);
}

TEST_CASE("an avail index far ahead of used.idx breaks the queue and requests a reset") {
  Fixture f;
  f.qs.drivers[1].set_avail_idx(40);  // 40 > queue size 16 ahead of used.idx 0
  f.start();
  CHECK(f.irq->needs_reset());
  CHECK(f.qs.drivers[1].used_idx() == 0);
}

TEST_CASE("a full ring is answered across several handler runs") {
  Fixture f;
  f.t = std::make_shared<FsTakeover>(f.mem, f.qs.queues, f.qs.kicks, f.irq, f.io, EIO, 3);
  std::vector<uint64_t> outs;
  for (uint64_t i = 0; i < 8; ++i) outs.push_back(f.request(1, FUSE_GETATTR, 1000 + i));
  REQUIRE(f.t->start().has_value());
  CHECK(f.qs.drivers[1].used_idx() == 3);
  f.run();
  CHECK(f.qs.drivers[1].used_idx() == 8);
  CHECK(test::read_out_header(f.mem, outs[7]).error == -EIO);
  CHECK(test::read_out_header(f.mem, outs[7]).unique == 1007);
}

}  // namespace
}  // namespace minivmm::fs
