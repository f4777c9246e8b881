// Unit tests of NetDevice itself: offered features (offloads following the tap), feature
// consistency at FEATURES_OK, option validation, the read-only configuration space (values,
// reads past the structure, ignored writes), the random MAC, offloads mirrored to the tap at
// activation, and, where /dev/net/tun is usable, a real tap: frames crossing it both ways through
// the device, and deleting it (link down, config interrupt, TX drops, no polling). The queue
// paths over a socketpair stand-in are in net_rx_test.cpp and net_tx_test.cpp.
#include "devices/net/net_device.hpp"

#include <algorithm>
#include <cstdlib>
#include <optional>

#include <doctest/doctest.h>

#include "net_test_support.hpp"

namespace minivmm::net {
namespace {

TEST_SUITE_BEGIN("net/device");

using test::bit;
using test::NetHarness;
using test::StandIn;

constexpr uint64_t kGuestOffloads = bit(VIRTIO_NET_F_GUEST_CSUM) | bit(VIRTIO_NET_F_GUEST_TSO4) |
                                    bit(VIRTIO_NET_F_GUEST_TSO6) | bit(VIRTIO_NET_F_GUEST_ECN) |
                                    bit(VIRTIO_NET_F_GUEST_UFO);

std::shared_ptr<NetDevice> make_device(unsigned tap_offloads = kTunOffloadMask,
                                       NetDeviceOptions o = {}) {
  StandIn s;
  auto d = NetDevice::create(
      Tap::from_fd_for_testing(std::move(s.device_end), "mvstand0", tap_offloads), o);
  REQUIRE_MESSAGE(d.has_value(), (d ? std::string() : d.error().message()));
  return *d;
}

TEST_CASE("the device offers the base features and the tap's offloads, nothing else") {
  auto dev = make_device();
  CHECK(dev->device_type() == VIRTIO_ID_NET);
  CHECK(dev->queue_max_sizes().size() == 2);
  uint64_t f = dev->features();
  for (unsigned b :
       {VIRTIO_F_VERSION_1, VIRTIO_RING_F_INDIRECT_DESC, VIRTIO_RING_F_EVENT_IDX, VIRTIO_NET_F_MAC,
        VIRTIO_NET_F_MTU, VIRTIO_NET_F_STATUS, VIRTIO_NET_F_MRG_RXBUF, VIRTIO_NET_F_CSUM,
        VIRTIO_NET_F_GUEST_CSUM, VIRTIO_NET_F_GUEST_TSO4, VIRTIO_NET_F_GUEST_TSO6,
        VIRTIO_NET_F_GUEST_ECN, VIRTIO_NET_F_GUEST_UFO, VIRTIO_NET_F_HOST_TSO4,
        VIRTIO_NET_F_HOST_TSO6, VIRTIO_NET_F_HOST_ECN, VIRTIO_NET_F_HOST_UFO}) {
    CAPTURE(b);
    CHECK((f & bit(b)) != 0);
  }
  for (unsigned b : {VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_MQ, VIRTIO_NET_F_CTRL_MAC_ADDR,
                     VIRTIO_NET_F_CTRL_GUEST_OFFLOADS, VIRTIO_NET_F_GUEST_ANNOUNCE,
                     VIRTIO_NET_F_GSO, VIRTIO_NET_F_SPEED_DUPLEX}) {
    CAPTURE(b);
    CHECK((f & bit(b)) == 0);
  }
  CHECK(dev->accept_features(f));
}

TEST_CASE("a tap without offloads gets no GUEST offload features offered") {
  auto dev = make_device(0);
  CHECK((dev->features() & kGuestOffloads) == 0);
  CHECK((dev->features() & bit(VIRTIO_NET_F_CSUM)) != 0);
  auto csum_only = make_device(TUN_F_CSUM);
  CHECK((csum_only->features() & kGuestOffloads) == bit(VIRTIO_NET_F_GUEST_CSUM));
}

TEST_CASE("inconsistent feature sets are refused at FEATURES_OK") {
  auto dev = make_device();
  const uint64_t base = bit(VIRTIO_F_VERSION_1);
  CHECK(dev->accept_features(base));
  CHECK_FALSE(dev->accept_features(base | bit(VIRTIO_NET_F_GUEST_TSO4)));
  CHECK_FALSE(dev->accept_features(base | bit(VIRTIO_NET_F_HOST_TSO4)));
  CHECK_FALSE(dev->accept_features(base | bit(VIRTIO_NET_F_CSUM) | bit(VIRTIO_NET_F_HOST_ECN)));
  CHECK(dev->accept_features(base | bit(VIRTIO_NET_F_CSUM) | bit(VIRTIO_NET_F_HOST_TSO4)));
}

TEST_CASE("config space holds mac, link status, one queue pair and the mtu") {
  NetDeviceOptions o;
  o.mac = std::array<uint8_t, 6>{0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
  o.mtu = 9000;
  auto dev = make_device(kTunOffloadMask, o);
  CHECK(dev->config_size() == 12);
  std::vector<uint8_t> cfg(12);
  dev->read_config(0, cfg);
  CHECK(std::equal(cfg.begin(), cfg.begin() + 6, o.mac->begin()));
  CHECK((cfg[6] | (cfg[7] << 8)) == VIRTIO_NET_S_LINK_UP);
  CHECK((cfg[8] | (cfg[9] << 8)) == 1);
  CHECK((cfg[10] | (cfg[11] << 8)) == 9000);
  CHECK(dev->mac() == *o.mac);
  CHECK(dev->tap_name() == "mvstand0");
}

TEST_CASE("config reads past the structure are zero and partial reads are clipped") {
  auto dev = make_device();
  std::vector<uint8_t> tail(8, 0xff);
  dev->read_config(10, tail);
  CHECK(tail == std::vector<uint8_t>{0xdc, 0x05, 0, 0, 0, 0, 0, 0});  // mtu 1500, then zeroes
  std::vector<uint8_t> far(4, 0xff);
  dev->read_config(4096, far);
  CHECK(far == std::vector<uint8_t>(4, 0));
}

TEST_CASE("config writes, including the legacy MAC write, are ignored") {
  auto dev = make_device();
  std::vector<uint8_t> before(12), after(12);
  dev->read_config(0, before);
  dev->write_config(0, std::vector<uint8_t>(12, 0xaa));
  dev->write_config(0, std::vector<uint8_t>{1, 2, 3, 4, 5, 6});
  dev->read_config(0, after);
  CHECK(before == after);
}

TEST_CASE("without a configured MAC the device picks a random locally administered unicast one") {
  auto a = make_device();
  auto b = make_device();
  CHECK((a->mac()[0] & 0x01) == 0);
  CHECK((a->mac()[0] & 0x02) == 0x02);
  CHECK(a->mac() != b->mac());
}

TEST_CASE("create refuses bad queue sizes, mtu, budgets and MACs") {
  auto refused = [](NetDeviceOptions o) {
    StandIn s;
    auto d = NetDevice::create(Tap::from_fd_for_testing(std::move(s.device_end), "x"), o);
    return !d.has_value() && d.error().code() == ErrorCode::invalid_config;
  };
  for (uint16_t q : {uint16_t{0}, uint16_t{1}, uint16_t{3}, uint16_t{100}, uint16_t{65535}}) {
    NetDeviceOptions o;
    o.queue_size = q;
    CAPTURE(q);
    CHECK(refused(o));
  }
  NetDeviceOptions mtu;
  mtu.mtu = 67;
  CHECK(refused(mtu));
  NetDeviceOptions budget;
  budget.frames_per_wakeup = 0;
  CHECK(refused(budget));
  NetDeviceOptions multicast;
  multicast.mac = std::array<uint8_t, 6>{0x01, 0, 0x5e, 0, 0, 1};
  CHECK(refused(multicast));
  NetDeviceOptions zero;
  zero.mac = std::array<uint8_t, 6>{};
  CHECK(refused(zero));
}

TEST_CASE("activation mirrors the acked GUEST offloads to the tap") {
  StandIn s1;
  NetHarness all(s1);
  CHECK(all.dev->tap().offloads() == tun_offloads_for(all.acked));
  CHECK(all.dev->tap().offloads() ==
        (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_UFO));
  StandIn s2;
  NetHarness none(s2, ~kGuestOffloads);
  CHECK(none.dev->tap().offloads() == 0);
}

TEST_CASE("frames cross a real tap in both directions through the device") {
  auto tap = test::open_tap_or_skip("mvtest6");
  if (!tap) return;
  NetHarness h(std::move(*tap));
  test::PacketSocket host("mvtest6");
  std::vector<uint64_t> bufs;
  for (int i = 0; i < 12; ++i) bufs.push_back(h.post_rx(2048));
  h.kick_rx();
  h.run_for(10);
  auto sent = host.send(200, 0x77);
  // The host may also emit its own traffic (IPv6 solicitations): find the test frame.
  auto delivered = [&]() -> std::optional<uint64_t> {
    for (uint16_t i = 0; i < h.rx->used_idx(); ++i) {
      auto e = h.rx->used_elem(i);
      uint64_t gpa = bufs.at(e.id);
      if (e.len == kVnetHdrSize + sent.size() && h.read(gpa + kVnetHdrSize + 12, 1)[0] == 0x88)
        return gpa;
    }
    return std::nullopt;
  };
  REQUIRE(h.pump([&] { return delivered().has_value(); }));
  CHECK(h.read(*delivered() + kVnetHdrSize, sent.size()) == sent);

  auto f = test::frame(300, 0x99);
  f[kVnetHdrSize + 12] = 0x88;
  f[kVnetHdrSize + 13] = 0xb5;
  h.post_tx(f, 2);
  h.kick_tx();
  REQUIRE(h.pump([&] { return h.tx->used_idx() == 1; }));
  CHECK(host.recv_test_frame() == std::vector<uint8_t>(f.begin() + kVnetHdrSize, f.end()));
  CHECK(h.dev->counters().tx_packets == 1);
}

TEST_CASE("deleting a real tap takes the link down, raises a config interrupt and drops TX") {
  auto tap = test::open_tap_or_skip("mvtest5");
  if (!tap) return;
  NetHarness h(std::move(*tap));
  {
    // With no RX buffers the device holds this frame and stops reading: only the error wait
    // still watches the tap.
    test::PacketSocket host("mvtest5");
    host.send(60, 0x42);
  }
  h.run_for(20);
  CHECK(h.dev->link_up());
  const uint32_t generation = h.interrupt->config_generation();
  REQUIRE(std::system("ip link del mvtest5") == 0);
  REQUIRE(h.pump([&] { return !h.dev->link_up(); }));
  CHECK(h.interrupt->config_generation() == generation + 1);
  h.post_tx(test::frame(100, 1));
  h.kick_tx();
  REQUIRE(h.pump([&] { return h.tx->used_idx() == 1; }));
  CHECK(h.dev->counters().tx_drops == 1);
  CHECK(h.run_for(50) == 0);  // nothing polls the dead tap
}

TEST_SUITE_END();

}  // namespace
}  // namespace minivmm::net
