// Unit tests of the virtio-net transmit path over a socketpair stand-in for the tap: a frame in
// several descriptors reaches the host side intact with its header, GSO frames pass when
// negotiated, every hostile TX chain of HOSTILE-GUEST.md (shorter than the header, writable
// descriptors, above 64 KiB, bogus or unnegotiated gso_type, csum/hdr_len out of frame) is
// returned with used length 0, never reaches the host and is counted, the per-wakeup budget
// continues on the loop, and a corrupt avail index asks for a device reset.
#include <doctest/doctest.h>

#include "net_test_support.hpp"

namespace minivmm::net {
namespace {

TEST_SUITE_BEGIN("net/tx");

using test::bit;
using test::frame;
using test::NetHarness;
using test::peer_recv;
using test::StandIn;

virtio_net_hdr_v1 tso4_header() {
  virtio_net_hdr_v1 h{};
  h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
  h.gso_size = 1448;
  h.hdr_len = 54;
  h.csum_start = 34;
  h.csum_offset = 16;
  return h;
}

TEST_CASE("a transmitted frame reaches the tap with its header and the chain is returned") {
  StandIn s;
  NetHarness h(s);
  auto f = frame(100, 0x5a);
  uint16_t head = h.post_tx(f, 3);
  h.kick_tx();
  REQUIRE(h.pump([&] { return h.tx->used_idx() == 1; }));
  CHECK(h.tx->used_elem(0).id == head);
  CHECK(h.tx->used_elem(0).len == 0);
  CHECK(peer_recv(s.peer) == f);
  CHECK(h.interrupt->signal_count() >= 1);
  NetCounters c = h.dev->counters();
  CHECK(c.tx_packets == 1);
  CHECK(c.tx_bytes == 100);
  CHECK(c.tx_drops == 0);
}

TEST_CASE("a negotiated TSO frame of 64 KiB passes with its offload header") {
  StandIn s;
  NetHarness h(s);
  auto f = frame(65536, 0x11, tso4_header());
  h.post_tx(f, 4);
  h.kick_tx();
  REQUIRE(h.pump([&] { return h.tx->used_idx() == 1; }));
  CHECK(peer_recv(s.peer) == f);
  CHECK(h.dev->counters().tx_packets == 1);
}

TEST_CASE("hostile TX chains are dropped, returned with length 0 and counted") {
  StandIn s;
  NetHarness h(s, ~bit(VIRTIO_NET_F_HOST_TSO6));
  // Shorter than the vnet header.
  h.post_tx(std::vector<uint8_t>(8, 0));
  // A device-writable descriptor in a TX chain.
  auto f = frame(100, 1);
  uint64_t a = h.alloc(f.size());
  REQUIRE(h.mem.write(a, f));
  h.tx->publish(h.tx->add_chain({{a, static_cast<uint32_t>(f.size()), false}, {a, 16, true}}));
  // Above 64 KiB plus the Ethernet header.
  h.post_tx(std::vector<uint8_t>(kMaxFrameLen + 1, 0), 2);
  // Bogus gso_type, GSO not negotiated (HOST_TSO6 left out), csum and hdr_len out of frame.
  virtio_net_hdr_v1 bogus = tso4_header();
  bogus.gso_type = 5;
  h.post_tx(frame(2000, 2, bogus));
  virtio_net_hdr_v1 tso6 = tso4_header();
  tso6.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
  h.post_tx(frame(2000, 3, tso6));
  virtio_net_hdr_v1 csum = tso4_header();
  csum.csum_start = 1990;
  h.post_tx(frame(2000, 4, csum));
  virtio_net_hdr_v1 hdr_len = tso4_header();
  hdr_len.hdr_len = 2001;
  h.post_tx(frame(2000, 5, hdr_len));
  h.kick_tx();
  REQUIRE(h.pump([&] { return h.tx->used_idx() == 7; }));
  for (uint16_t i = 0; i < 7; ++i) CHECK(h.tx->used_elem(i).len == 0);
  CHECK(peer_recv(s.peer).empty());
  NetCounters c = h.dev->counters();
  CHECK(c.tx_drops == 7);
  CHECK(c.malformed_chains == 3);
  CHECK(c.tx_packets == 0);
  CHECK(c.tx_errors == 0);
}

TEST_CASE("NEEDS_CSUM without the CSUM feature is dropped") {
  StandIn s;
  NetHarness h(
      s, ~(bit(VIRTIO_NET_F_CSUM) | bit(VIRTIO_NET_F_HOST_TSO4) | bit(VIRTIO_NET_F_HOST_TSO6) |
           bit(VIRTIO_NET_F_HOST_ECN) | bit(VIRTIO_NET_F_HOST_UFO)));
  virtio_net_hdr_v1 hdr{};
  hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  hdr.csum_start = 34;
  hdr.csum_offset = 6;
  h.post_tx(frame(100, 1, hdr));
  h.post_tx(frame(100, 2));
  h.kick_tx();
  REQUIRE(h.pump([&] { return h.tx->used_idx() == 2; }));
  CHECK(peer_recv(s.peer) == frame(100, 2));
  CHECK(h.dev->counters().tx_drops == 1);
}

TEST_CASE("TX continues past the per-wakeup budget") {
  StandIn s;
  NetDeviceOptions o;
  o.frames_per_wakeup = 2;
  NetHarness h(s, ~0ULL, o);
  for (uint8_t i = 0; i < 7; ++i) h.post_tx(frame(60, i));
  h.kick_tx();
  REQUIRE(h.pump([&] { return h.tx->used_idx() == 7; }));
  for (uint8_t i = 0; i < 7; ++i) CHECK(peer_recv(s.peer) == frame(60, i));
  CHECK(h.dev->counters().tx_packets == 7);
}

TEST_CASE("a TX avail index running ahead of the ring asks for a device reset") {
  StandIn s;
  NetHarness h(s);
  h.tx->set_avail_idx(40);  // 40 entries on a 16-entry ring
  h.kick_tx();
  REQUIRE(h.pump([&] { return h.interrupt->needs_reset(); }));
  CHECK(h.tx->used_idx() == 0);
  CHECK(peer_recv(s.peer).empty());
}

TEST_SUITE_END();

}  // namespace
}  // namespace minivmm::net
