// Unit tests of the virtio-net receive path over a socketpair stand-in for the tap: host frames
// land in RX buffers with num_buffers, merge over several chains with MRG_RXBUF (also when the
// ring runs dry mid-frame), are dropped when they do not fit one chain without it, malformed RX
// chains (read-only, shorter than the header) are returned unused, a host flood with no RX
// buffers holds exactly one frame and runs no handler until the next kick, the per-wakeup budget
// continues on the loop, frames needing offloads the driver refused are dropped, the tap failing
// takes the link down with a config interrupt and TX drops, and reset / re-activation.
#include <linux/sockios.h>
#include <linux/virtio_mmio.h>
#include <sys/ioctl.h>

#include <doctest/doctest.h>

#include "net_test_support.hpp"

namespace minivmm::net {
namespace {

TEST_SUITE_BEGIN("net/rx");

using test::bit;
using test::frame;
using test::NetHarness;
using test::peer_recv;
using test::peer_send;
using test::StandIn;

uint16_t num_buffers_at(const NetHarness& h, uint64_t gpa) {
  auto b = h.read(gpa + offsetof(virtio_net_hdr_v1, num_buffers), 2);
  return static_cast<uint16_t>(b[0] | (b[1] << 8));
}

/// Bytes queued on the device's end of the stand-in (what the "tap" still holds).
int queued_bytes(const NetHarness& h) {
  int n = -1;
  REQUIRE(::ioctl(h.dev->tap().fd(), SIOCINQ, &n) == 0);
  return n;
}

TEST_CASE("a host frame lands in an RX buffer with num_buffers 1") {
  StandIn s;
  NetHarness h(s);
  uint64_t buf = h.post_rx(2048);
  auto f = frame(200, 0x33);
  REQUIRE(peer_send(s.peer, f));
  REQUIRE(h.pump([&] { return h.rx->used_idx() == 1; }));
  CHECK(h.rx->used_elem(0).len == f.size());
  CHECK(num_buffers_at(h, buf) == 1);
  auto got = h.read(buf, f.size());
  CHECK(std::equal(got.begin() + kVnetHdrSize, got.end(), f.begin() + kVnetHdrSize));
  CHECK(h.interrupt->signal_count() >= 1);
  NetCounters c = h.dev->counters();
  CHECK(c.rx_packets == 1);
  CHECK(c.rx_bytes == 200);
}

TEST_CASE("with MRG_RXBUF a large frame spans several chains and says so in num_buffers") {
  StandIn s;
  NetHarness h(s);
  uint64_t first = h.post_rx(1500);
  uint64_t second = h.post_rx(1500);
  uint64_t third = h.post_rx(1500);
  auto f = frame(3000, 0x44);
  REQUIRE(peer_send(s.peer, f));
  REQUIRE(h.pump([&] { return h.rx->used_idx() == 3; }));
  CHECK(h.rx->used_elem(0).len == 1500);
  CHECK(h.rx->used_elem(1).len == 1500);
  CHECK(h.rx->used_elem(2).len == f.size() - 3000);
  CHECK(num_buffers_at(h, first) == 3);
  CHECK(h.read(second, 1500) == std::vector<uint8_t>(f.begin() + 1500, f.begin() + 3000));
  CHECK(h.read(third, 12) == std::vector<uint8_t>(f.begin() + 3000, f.end()));
}

TEST_CASE("a merged frame waits when the ring runs dry mid-frame and completes after a kick") {
  StandIn s;
  NetHarness h(s);
  uint64_t first = h.post_rx(1500);
  REQUIRE(peer_send(s.peer, frame(3000, 0x55)));
  h.run_for(20);
  CHECK(h.rx->used_idx() == 0);  // nothing published until the whole frame has room
  h.post_rx(2048);
  h.kick_rx();
  REQUIRE(h.pump([&] { return h.rx->used_idx() == 2; }));
  CHECK(num_buffers_at(h, first) == 2);
  CHECK(h.rx->used_elem(1).len == 3012 - 1500);
}

TEST_CASE("without MRG_RXBUF a frame larger than the chain is dropped and the chain returned") {
  StandIn s;
  NetHarness h(s, ~bit(VIRTIO_NET_F_MRG_RXBUF));
  h.post_rx(1500);
  uint64_t big = h.post_rx(4096);
  REQUIRE(peer_send(s.peer, frame(3000, 1)));
  REQUIRE(peer_send(s.peer, frame(100, 2)));
  REQUIRE(h.pump([&] { return h.rx->used_idx() == 2; }));
  CHECK(h.rx->used_elem(0).len == 0);
  CHECK(h.rx->used_elem(1).len == 112);
  CHECK(num_buffers_at(h, big) == 1);
  NetCounters c = h.dev->counters();
  CHECK(c.rx_drops == 1);
  CHECK(c.rx_packets == 1);
}

TEST_CASE("read-only and too-short RX chains are returned unused and counted") {
  StandIn s;
  NetHarness h(s);
  uint64_t a = h.alloc(4096);
  h.rx->publish(h.rx->add_chain({{a, 64, false}, {a + 64, 2000, true}}));
  h.rx->publish(h.rx->add_chain({{a + 2048, 8, true}}));
  uint64_t good = h.post_rx(2048);
  REQUIRE(peer_send(s.peer, frame(100, 7)));
  REQUIRE(h.pump([&] { return h.rx->used_idx() == 3; }));
  CHECK(h.rx->used_elem(0).len == 0);
  CHECK(h.rx->used_elem(1).len == 0);
  CHECK(h.rx->used_elem(2).len == 112);
  CHECK(num_buffers_at(h, good) == 1);
  CHECK(h.dev->counters().malformed_chains == 2);
}

TEST_CASE("a host flood without RX buffers holds one frame, runs no handler and resumes on kick") {
  StandIn s;
  NetHarness h(s);
  for (uint8_t i = 0; i < 10; ++i) REQUIRE(peer_send(s.peer, frame(100, i)));
  h.run_for(20);
  CHECK(queued_bytes(h) == 9 * 112);  // exactly one frame was taken off the tap
  CHECK(h.run_for(100) == 0);         // no busy loop while the guest posts nothing
  std::vector<uint64_t> bufs;
  for (int i = 0; i < 10; ++i) bufs.push_back(h.post_rx(256));
  h.kick_rx();
  REQUIRE(h.pump([&] { return h.rx->used_idx() == 10; }));
  for (uint8_t i = 0; i < 10; ++i) CHECK(h.read(bufs[i] + kVnetHdrSize + 6, 1)[0] == i);
  NetCounters c = h.dev->counters();
  CHECK(c.rx_packets == 10);
  CHECK(c.rx_drops == 0);
  CHECK(queued_bytes(h) == 0);
}

TEST_CASE("an idle device waiting for the tap with RX buffers posted runs no handler") {
  StandIn s;
  NetHarness h(s);
  for (int i = 0; i < 4; ++i) h.post_rx(2048);
  h.kick_rx();
  h.run_for(20);
  CHECK(h.run_for(100) == 0);
  REQUIRE(peer_send(s.peer, frame(100, 9)));
  REQUIRE(h.pump([&] { return h.rx->used_idx() == 1; }));
  CHECK(h.run_for(50) == 0);
}

TEST_CASE("RX continues past the per-wakeup budget") {
  StandIn s;
  NetDeviceOptions o;
  o.frames_per_wakeup = 2;
  NetHarness h(s, ~0ULL, o);
  for (int i = 0; i < 7; ++i) h.post_rx(256);
  for (uint8_t i = 0; i < 7; ++i) REQUIRE(peer_send(s.peer, frame(60, i)));
  REQUIRE(h.pump([&] { return h.rx->used_idx() == 7; }));
  CHECK(h.dev->counters().rx_packets == 7);
}

TEST_CASE("a frame needing a checksum the driver did not accept is dropped") {
  StandIn s;
  NetHarness h(s, ~(bit(VIRTIO_NET_F_GUEST_CSUM) | bit(VIRTIO_NET_F_GUEST_TSO4) |
                    bit(VIRTIO_NET_F_GUEST_TSO6) | bit(VIRTIO_NET_F_GUEST_ECN) |
                    bit(VIRTIO_NET_F_GUEST_UFO)));
  virtio_net_hdr_v1 partial{};
  partial.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  virtio_net_hdr_v1 valid{};
  valid.flags = VIRTIO_NET_HDR_F_DATA_VALID;
  uint64_t buf = h.post_rx(2048);
  REQUIRE(peer_send(s.peer, frame(100, 1, partial)));
  REQUIRE(peer_send(s.peer, frame(100, 2, valid)));
  REQUIRE(h.pump([&] { return h.rx->used_idx() == 1; }));
  CHECK(h.read(buf, 1)[0] == 0);  // DATA_VALID cleared without GUEST_CSUM
  CHECK(h.read(buf + kVnetHdrSize + 6, 1)[0] == 2);
  CHECK(h.dev->counters().rx_drops == 1);
}

TEST_CASE("the tap failing takes the link down once, raises a config interrupt and drops TX") {
  StandIn s;
  NetHarness h(s);
  h.run_for(10);
  const uint32_t generation = h.interrupt->config_generation();
  s.peer.reset();  // the host side goes away: the descriptor polls as hung up
  REQUIRE(h.pump([&] { return !h.dev->link_up(); }));
  CHECK(h.interrupt->config_generation() == generation + 1);
  CHECK((h.interrupt->status() & VIRTIO_MMIO_INT_CONFIG) != 0);
  std::vector<uint8_t> status(2);
  h.dev->read_config(6, status);
  CHECK(status == std::vector<uint8_t>{0, 0});
  h.post_tx(frame(100, 1));
  h.post_tx(frame(100, 2));
  h.kick_tx();
  REQUIRE(h.pump([&] { return h.tx->used_idx() == 2; }));
  NetCounters c = h.dev->counters();
  CHECK_FALSE(c.link_up);
  CHECK(c.tx_drops == 2);
  CHECK(c.tx_packets == 0);
  h.post_rx(2048);
  h.kick_rx();
  CHECK(h.run_for(50) <= 2);  // the kick handler only: the tap is never polled again
  CHECK(h.rx->used_idx() == 0);
  CHECK(h.interrupt->config_generation() == generation + 1);
}

TEST_CASE("after reset nothing touches the rings; a re-activation starts over, counters carry") {
  StandIn s;
  NetHarness h(s);
  h.post_rx(2048);
  REQUIRE(peer_send(s.peer, frame(100, 1)));
  REQUIRE(h.pump([&] { return h.rx->used_idx() == 1; }));
  h.dev->reset();
  h.post_rx(2048);
  REQUIRE(peer_send(s.peer, frame(100, 2)));
  h.kick_rx();
  h.run_for(50);
  CHECK(h.rx->used_idx() == 1);
  CHECK(h.dev->counters().rx_packets == 1);

  h.reactivate();
  uint64_t buf = h.post_rx(2048);
  REQUIRE(h.pump([&] { return h.rx->used_idx() == 1; }));
  CHECK(h.read(buf + kVnetHdrSize + 6, 1)[0] == 2);
  CHECK(h.dev->counters().rx_packets == 2);
}

TEST_CASE("reset drops the held frame and counts it") {
  StandIn s;
  NetHarness h(s);
  REQUIRE(peer_send(s.peer, frame(100, 1)));
  h.run_for(20);
  CHECK(queued_bytes(h) == 0);
  h.dev->reset();
  CHECK(h.dev->counters().rx_drops == 1);
}

TEST_SUITE_END();

}  // namespace
}  // namespace minivmm::net
