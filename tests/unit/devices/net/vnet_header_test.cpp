// Unit tests of vnet_header: TX header validation for every hostile case of HOSTILE-GUEST.md
// (frames above 64 KiB, bogus gso_type, csum_start/offset and hdr_len beyond the frame, GSO or
// checksum offload that was not negotiated), RX header sanitising, the feature dependencies of
// virtio v1.2 5.1.3.1, and the feature <-> TUNSETOFFLOAD mappings both ways.
#include "devices/net/vnet_header.hpp"

#include <linux/if_tun.h>

#include <doctest/doctest.h>

#include "devices/net/tap.hpp"

namespace minivmm::net {
namespace {

TEST_SUITE_BEGIN("net/vnet_header");

constexpr uint64_t bit(unsigned b) {
  return 1ULL << b;
}

constexpr uint64_t kAllHost = bit(VIRTIO_NET_F_CSUM) | bit(VIRTIO_NET_F_HOST_TSO4) |
                              bit(VIRTIO_NET_F_HOST_TSO6) | bit(VIRTIO_NET_F_HOST_ECN) |
                              bit(VIRTIO_NET_F_HOST_UFO);

virtio_net_hdr_v1 tso4(uint16_t csum_start = 34, uint16_t csum_offset = 16) {
  virtio_net_hdr_v1 h{};
  h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
  h.gso_size = 1448;
  h.hdr_len = 54;
  h.csum_start = csum_start;
  h.csum_offset = csum_offset;
  return h;
}

TEST_CASE("a plain header on an Ethernet-sized frame is accepted without any feature") {
  CHECK(validate_tx_header({}, 60, 0) == TxHeaderVerdict::ok);
  CHECK(validate_tx_header({}, ETH_HLEN, 0) == TxHeaderVerdict::ok);
}

TEST_CASE("frames shorter than an Ethernet header or above 64 KiB are refused") {
  CHECK(validate_tx_header({}, ETH_HLEN - 1, 0) == TxHeaderVerdict::frame_too_short);
  CHECK(validate_tx_header({}, 0, 0) == TxHeaderVerdict::frame_too_short);
  CHECK(validate_tx_header({}, kMaxEthFrameLen, 0) == TxHeaderVerdict::ok);
  CHECK(validate_tx_header({}, kMaxEthFrameLen + 1, 0) == TxHeaderVerdict::frame_too_long);
  CHECK(validate_tx_header({}, size_t{1} << 32, 0) == TxHeaderVerdict::frame_too_long);
}

TEST_CASE("RX-only and unknown flags are refused on TX") {
  for (uint8_t f :
       {uint8_t{VIRTIO_NET_HDR_F_DATA_VALID}, uint8_t{VIRTIO_NET_HDR_F_RSC_INFO}, uint8_t{0x80}}) {
    virtio_net_hdr_v1 h{};
    h.flags = f;
    CAPTURE(f);
    CHECK(validate_tx_header(h, 100, kAllHost) == TxHeaderVerdict::bad_flags);
  }
}

TEST_CASE("NEEDS_CSUM needs VIRTIO_NET_F_CSUM") {
  virtio_net_hdr_v1 h{};
  h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  h.csum_start = 34;
  h.csum_offset = 6;
  CHECK(validate_tx_header(h, 100, 0) == TxHeaderVerdict::csum_not_negotiated);
  CHECK(validate_tx_header(h, 100, bit(VIRTIO_NET_F_CSUM)) == TxHeaderVerdict::ok);
}

TEST_CASE("csum_start + csum_offset + 2 must stay inside the frame") {
  virtio_net_hdr_v1 h{};
  h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  h.csum_start = 90;
  h.csum_offset = 8;
  CHECK(validate_tx_header(h, 100, bit(VIRTIO_NET_F_CSUM)) == TxHeaderVerdict::ok);
  h.csum_offset = 9;
  CHECK(validate_tx_header(h, 100, bit(VIRTIO_NET_F_CSUM)) == TxHeaderVerdict::csum_out_of_frame);
  h.csum_start = 0xffff;
  h.csum_offset = 0xffff;  // no u16 wrap-around
  CHECK(validate_tx_header(h, kMaxEthFrameLen, bit(VIRTIO_NET_F_CSUM)) ==
        TxHeaderVerdict::csum_out_of_frame);
}

TEST_CASE("unknown gso_type values are refused") {
  for (uint8_t t : {uint8_t{2}, uint8_t{5}, uint8_t{6} /* UDP_L4 (USO) */, uint8_t{0x7f},
                    uint8_t{VIRTIO_NET_HDR_GSO_ECN}, uint8_t{VIRTIO_NET_HDR_GSO_UDP | 0x80}}) {
    virtio_net_hdr_v1 h = tso4();
    h.gso_type = t;
    CAPTURE(t);
    CHECK(validate_tx_header(h, 2000, kAllHost) == TxHeaderVerdict::bad_gso_type);
  }
}

TEST_CASE("each GSO type needs its HOST feature, and ECN needs HOST_ECN") {
  const uint64_t csum = bit(VIRTIO_NET_F_CSUM);
  struct Case {
    uint8_t type;
    unsigned feature;
  };
  for (Case c : {Case{VIRTIO_NET_HDR_GSO_TCPV4, VIRTIO_NET_F_HOST_TSO4},
                 Case{VIRTIO_NET_HDR_GSO_TCPV6, VIRTIO_NET_F_HOST_TSO6},
                 Case{VIRTIO_NET_HDR_GSO_UDP, VIRTIO_NET_F_HOST_UFO}}) {
    virtio_net_hdr_v1 h = tso4();
    h.gso_type = c.type;
    CAPTURE(c.type);
    CHECK(validate_tx_header(h, 2000, csum) == TxHeaderVerdict::gso_not_negotiated);
    CHECK(validate_tx_header(h, 2000, kAllHost & ~bit(c.feature)) ==
          TxHeaderVerdict::gso_not_negotiated);
    CHECK(validate_tx_header(h, 2000, csum | bit(c.feature)) == TxHeaderVerdict::ok);
  }
  virtio_net_hdr_v1 ecn = tso4();
  ecn.gso_type = VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN;
  CHECK(validate_tx_header(ecn, 2000, kAllHost & ~bit(VIRTIO_NET_F_HOST_ECN)) ==
        TxHeaderVerdict::gso_not_negotiated);
  CHECK(validate_tx_header(ecn, 2000, kAllHost) == TxHeaderVerdict::ok);
}

TEST_CASE("GSO needs NEEDS_CSUM and a nonzero gso_size") {
  virtio_net_hdr_v1 h = tso4();
  h.flags = 0;
  CHECK(validate_tx_header(h, 2000, kAllHost) == TxHeaderVerdict::gso_without_csum);
  h = tso4();
  h.gso_size = 0;
  CHECK(validate_tx_header(h, 2000, kAllHost) == TxHeaderVerdict::bad_gso_size);
}

TEST_CASE("hdr_len beyond the frame is refused") {
  virtio_net_hdr_v1 h = tso4();
  h.hdr_len = 2000;
  CHECK(validate_tx_header(h, 2000, kAllHost) == TxHeaderVerdict::ok);
  h.hdr_len = 2001;
  CHECK(validate_tx_header(h, 2000, kAllHost) == TxHeaderVerdict::hdr_len_out_of_frame);
  virtio_net_hdr_v1 plain{};
  plain.hdr_len = 0xffff;
  CHECK(validate_tx_header(plain, 100, 0) == TxHeaderVerdict::hdr_len_out_of_frame);
}

TEST_CASE("every verdict has a description") {
  for (int v = 0; v <= static_cast<int>(TxHeaderVerdict::hdr_len_out_of_frame); ++v)
    CHECK(std::string(describe(static_cast<TxHeaderVerdict>(v))) != "unknown");
}

TEST_CASE("RX headers lose their flags without GUEST_CSUM and keep them with it") {
  virtio_net_hdr_v1 h{};
  h.flags = VIRTIO_NET_HDR_F_DATA_VALID | VIRTIO_NET_HDR_F_RSC_INFO;
  CHECK(sanitize_rx_header(h, 0));
  CHECK(h.flags == 0);
  h.flags = VIRTIO_NET_HDR_F_DATA_VALID | VIRTIO_NET_HDR_F_RSC_INFO;
  CHECK(sanitize_rx_header(h, bit(VIRTIO_NET_F_GUEST_CSUM)));
  CHECK(h.flags == VIRTIO_NET_HDR_F_DATA_VALID);
}

TEST_CASE("RX frames needing offloads the driver did not accept are refused") {
  virtio_net_hdr_v1 csum{};
  csum.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  CHECK_FALSE(sanitize_rx_header(csum, 0));
  virtio_net_hdr_v1 h = tso4();
  const uint64_t guest_csum = bit(VIRTIO_NET_F_GUEST_CSUM);
  CHECK_FALSE(sanitize_rx_header(h, guest_csum));
  h = tso4();
  CHECK(sanitize_rx_header(h, guest_csum | bit(VIRTIO_NET_F_GUEST_TSO4)));
  h = tso4();
  h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6 | VIRTIO_NET_HDR_GSO_ECN;
  CHECK_FALSE(sanitize_rx_header(h, guest_csum | bit(VIRTIO_NET_F_GUEST_TSO6)));
  h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6 | VIRTIO_NET_HDR_GSO_ECN;
  CHECK(sanitize_rx_header(
      h, guest_csum | bit(VIRTIO_NET_F_GUEST_TSO6) | bit(VIRTIO_NET_F_GUEST_ECN)));
  h.gso_type = VIRTIO_NET_HDR_GSO_UDP;
  CHECK_FALSE(sanitize_rx_header(h, guest_csum));
  h.gso_type = 0x42;
  CHECK_FALSE(sanitize_rx_header(h, ~0ULL));
}

TEST_CASE("feature sets breaking 5.1.3.1 dependencies are inconsistent") {
  const uint64_t gc = bit(VIRTIO_NET_F_GUEST_CSUM);
  const uint64_t c = bit(VIRTIO_NET_F_CSUM);
  CHECK(features_consistent(0));
  CHECK(features_consistent(kAllHost));
  CHECK(features_consistent(gc | bit(VIRTIO_NET_F_GUEST_TSO4) | bit(VIRTIO_NET_F_GUEST_ECN)));
  for (unsigned f : {VIRTIO_NET_F_GUEST_TSO4, VIRTIO_NET_F_GUEST_TSO6, VIRTIO_NET_F_GUEST_UFO}) {
    CAPTURE(f);
    CHECK_FALSE(features_consistent(bit(f)));
    CHECK(features_consistent(bit(f) | gc));
  }
  for (unsigned f : {VIRTIO_NET_F_HOST_TSO4, VIRTIO_NET_F_HOST_TSO6, VIRTIO_NET_F_HOST_UFO}) {
    CAPTURE(f);
    CHECK_FALSE(features_consistent(bit(f)));
    CHECK(features_consistent(bit(f) | c));
  }
  CHECK_FALSE(features_consistent(gc | bit(VIRTIO_NET_F_GUEST_ECN)));
  CHECK_FALSE(features_consistent(c | bit(VIRTIO_NET_F_HOST_ECN) | bit(VIRTIO_NET_F_HOST_UFO)));
}

TEST_CASE("acked GUEST features map to TUNSETOFFLOAD flags, TSO only with CSUM") {
  const uint64_t gc = bit(VIRTIO_NET_F_GUEST_CSUM);
  CHECK(tun_offloads_for(0) == 0);
  CHECK(tun_offloads_for(bit(VIRTIO_NET_F_GUEST_TSO4) | bit(VIRTIO_NET_F_GUEST_UFO)) == 0);
  CHECK(tun_offloads_for(kAllHost) == 0);  // HOST_* never reach TUNSETOFFLOAD
  CHECK(tun_offloads_for(gc) == TUN_F_CSUM);
  CHECK(tun_offloads_for(gc | bit(VIRTIO_NET_F_GUEST_TSO4)) == (TUN_F_CSUM | TUN_F_TSO4));
  CHECK(tun_offloads_for(gc | bit(VIRTIO_NET_F_GUEST_ECN)) == TUN_F_CSUM);
  CHECK(tun_offloads_for(gc | bit(VIRTIO_NET_F_GUEST_TSO4) | bit(VIRTIO_NET_F_GUEST_TSO6) |
                         bit(VIRTIO_NET_F_GUEST_ECN) | bit(VIRTIO_NET_F_GUEST_UFO)) ==
        (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_UFO));
}

TEST_CASE("offered GUEST features follow what the tap can deliver") {
  const uint64_t guest_mask = bit(VIRTIO_NET_F_GUEST_CSUM) | bit(VIRTIO_NET_F_GUEST_TSO4) |
                              bit(VIRTIO_NET_F_GUEST_TSO6) | bit(VIRTIO_NET_F_GUEST_ECN) |
                              bit(VIRTIO_NET_F_GUEST_UFO);
  CHECK(offered_offload_features(0) == kAllHost);
  CHECK((offered_offload_features(TUN_F_TSO4 | TUN_F_UFO) & guest_mask) == 0);  // no CSUM
  CHECK((offered_offload_features(TUN_F_CSUM) & guest_mask) == bit(VIRTIO_NET_F_GUEST_CSUM));
  CHECK((offered_offload_features(TUN_F_CSUM | TUN_F_TSO_ECN) & guest_mask) ==
        bit(VIRTIO_NET_F_GUEST_CSUM));  // ECN without any TSO is useless
  CHECK(
      (offered_offload_features(TUN_F_CSUM | TUN_F_TSO6 | TUN_F_TSO_ECN) & guest_mask) ==
      (bit(VIRTIO_NET_F_GUEST_CSUM) | bit(VIRTIO_NET_F_GUEST_TSO6) | bit(VIRTIO_NET_F_GUEST_ECN)));
  CHECK(offered_offload_features(kTunOffloadMask) == (kAllHost | guest_mask));
  for (unsigned tap = 0; tap <= kTunOffloadMask; ++tap) {
    CAPTURE(tap);
    uint64_t offered = offered_offload_features(tap);
    CHECK(features_consistent(offered));
    CHECK((tun_offloads_for(offered) & ~tap) == 0);  // never more than the tap accepts
  }
}

TEST_SUITE_END();

}  // namespace
}  // namespace minivmm::net
