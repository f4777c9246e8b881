// vnet_header: TX header validation, RX header sanitising, feature dependencies and the
// feature <-> TUNSETOFFLOAD mappings. Every function is pure; all inputs are plain values.
#include "devices/net/vnet_header.hpp"

#include <linux/if_tun.h>

namespace minivmm::net {

namespace {

constexpr uint64_t bit(unsigned b) {
  return 1ULL << b;
}

constexpr bool has(uint64_t features, unsigned b) {
  return (features & bit(b)) != 0;
}

// Guest-controlled: gso_type, checked against the acked HOST_* features.
TxHeaderVerdict check_gso_type(uint8_t gso_type, uint64_t acked) noexcept {
  const bool ecn = (gso_type & VIRTIO_NET_HDR_GSO_ECN) != 0;
  const uint8_t base = static_cast<uint8_t>(gso_type & ~VIRTIO_NET_HDR_GSO_ECN);
  unsigned feature = 0;
  switch (base) {
    case VIRTIO_NET_HDR_GSO_NONE:
      return ecn ? TxHeaderVerdict::bad_gso_type : TxHeaderVerdict::ok;
    case VIRTIO_NET_HDR_GSO_TCPV4:
      feature = VIRTIO_NET_F_HOST_TSO4;
      break;
    case VIRTIO_NET_HDR_GSO_TCPV6:
      feature = VIRTIO_NET_F_HOST_TSO6;
      break;
    case VIRTIO_NET_HDR_GSO_UDP:
      if (ecn) return TxHeaderVerdict::bad_gso_type;
      feature = VIRTIO_NET_F_HOST_UFO;
      break;
    default:
      return TxHeaderVerdict::bad_gso_type;
  }
  if (!has(acked, feature)) return TxHeaderVerdict::gso_not_negotiated;
  if (ecn && !has(acked, VIRTIO_NET_F_HOST_ECN)) return TxHeaderVerdict::gso_not_negotiated;
  return TxHeaderVerdict::ok;
}

}  // namespace

const char* describe(TxHeaderVerdict v) noexcept {
  switch (v) {
    case TxHeaderVerdict::ok:
      return "ok";
    case TxHeaderVerdict::frame_too_short:
      return "frame shorter than an Ethernet header";
    case TxHeaderVerdict::frame_too_long:
      return "frame longer than 64 KiB plus the Ethernet header";
    case TxHeaderVerdict::bad_flags:
      return "flags other than NEEDS_CSUM";
    case TxHeaderVerdict::csum_not_negotiated:
      return "NEEDS_CSUM without VIRTIO_NET_F_CSUM";
    case TxHeaderVerdict::csum_out_of_frame:
      return "csum_start + csum_offset beyond the frame";
    case TxHeaderVerdict::bad_gso_type:
      return "unknown gso_type";
    case TxHeaderVerdict::gso_not_negotiated:
      return "gso_type not negotiated";
    case TxHeaderVerdict::gso_without_csum:
      return "GSO without NEEDS_CSUM";
    case TxHeaderVerdict::bad_gso_size:
      return "GSO with gso_size 0";
    case TxHeaderVerdict::hdr_len_out_of_frame:
      return "hdr_len beyond the frame";
  }
  return "unknown";
}

TxHeaderVerdict validate_tx_header(const virtio_net_hdr_v1& hdr, size_t frame_len,
                                   uint64_t acked) noexcept {
  if (frame_len < ETH_HLEN) return TxHeaderVerdict::frame_too_short;
  if (frame_len > kMaxEthFrameLen) return TxHeaderVerdict::frame_too_long;
  // Guest-controlled: flags; only NEEDS_CSUM is meaningful on TX (5.1.6.2.1).
  if ((hdr.flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM) != 0) return TxHeaderVerdict::bad_flags;
  const bool needs_csum = (hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) != 0;
  if (needs_csum) {
    if (!has(acked, VIRTIO_NET_F_CSUM)) return TxHeaderVerdict::csum_not_negotiated;
    // Guest-controlled: csum_start/csum_offset, u16 each; the sum is computed in 64 bits.
    if (uint64_t{hdr.csum_start} + hdr.csum_offset + 2 > frame_len)
      return TxHeaderVerdict::csum_out_of_frame;
  }
  if (TxHeaderVerdict v = check_gso_type(hdr.gso_type, acked); v != TxHeaderVerdict::ok) return v;
  if (hdr.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
    if (!needs_csum) return TxHeaderVerdict::gso_without_csum;
    // Guest-controlled: gso_size, must name a segment size.
    if (hdr.gso_size == 0) return TxHeaderVerdict::bad_gso_size;
  }
  // Guest-controlled: hdr_len, a hint that must not point past the frame.
  if (hdr.hdr_len > frame_len) return TxHeaderVerdict::hdr_len_out_of_frame;
  return TxHeaderVerdict::ok;
}

bool sanitize_rx_header(virtio_net_hdr_v1& hdr, uint64_t acked) noexcept {
  const bool guest_csum = has(acked, VIRTIO_NET_F_GUEST_CSUM);
  if ((hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) != 0 && !guest_csum) return false;
  hdr.flags = guest_csum ? static_cast<uint8_t>(hdr.flags & (VIRTIO_NET_HDR_F_NEEDS_CSUM |
                                                             VIRTIO_NET_HDR_F_DATA_VALID))
                         : uint8_t{0};
  const bool ecn = (hdr.gso_type & VIRTIO_NET_HDR_GSO_ECN) != 0;
  switch (static_cast<uint8_t>(hdr.gso_type & ~VIRTIO_NET_HDR_GSO_ECN)) {
    case VIRTIO_NET_HDR_GSO_NONE:
      return !ecn;
    case VIRTIO_NET_HDR_GSO_TCPV4:
      return has(acked, VIRTIO_NET_F_GUEST_TSO4) && (!ecn || has(acked, VIRTIO_NET_F_GUEST_ECN));
    case VIRTIO_NET_HDR_GSO_TCPV6:
      return has(acked, VIRTIO_NET_F_GUEST_TSO6) && (!ecn || has(acked, VIRTIO_NET_F_GUEST_ECN));
    case VIRTIO_NET_HDR_GSO_UDP:
      return !ecn && has(acked, VIRTIO_NET_F_GUEST_UFO);
    default:
      return false;
  }
}

bool features_consistent(uint64_t acked) noexcept {
  auto needs = [acked](unsigned f, uint64_t any_of) {
    return !has(acked, f) || (acked & any_of) != 0;
  };
  const uint64_t guest_csum = bit(VIRTIO_NET_F_GUEST_CSUM);
  const uint64_t csum = bit(VIRTIO_NET_F_CSUM);
  return needs(VIRTIO_NET_F_GUEST_TSO4, guest_csum) && needs(VIRTIO_NET_F_GUEST_TSO6, guest_csum) &&
         needs(VIRTIO_NET_F_GUEST_UFO, guest_csum) &&
         needs(VIRTIO_NET_F_GUEST_ECN,
               bit(VIRTIO_NET_F_GUEST_TSO4) | bit(VIRTIO_NET_F_GUEST_TSO6)) &&
         needs(VIRTIO_NET_F_HOST_TSO4, csum) && needs(VIRTIO_NET_F_HOST_TSO6, csum) &&
         needs(VIRTIO_NET_F_HOST_UFO, csum) &&
         needs(VIRTIO_NET_F_HOST_ECN, bit(VIRTIO_NET_F_HOST_TSO4) | bit(VIRTIO_NET_F_HOST_TSO6));
}

unsigned tun_offloads_for(uint64_t acked) noexcept {
  if (!has(acked, VIRTIO_NET_F_GUEST_CSUM)) return 0;
  unsigned flags = TUN_F_CSUM;
  if (has(acked, VIRTIO_NET_F_GUEST_TSO4)) flags |= TUN_F_TSO4;
  if (has(acked, VIRTIO_NET_F_GUEST_TSO6)) flags |= TUN_F_TSO6;
  if (has(acked, VIRTIO_NET_F_GUEST_ECN) && (flags & (TUN_F_TSO4 | TUN_F_TSO6)) != 0)
    flags |= TUN_F_TSO_ECN;
  if (has(acked, VIRTIO_NET_F_GUEST_UFO)) flags |= TUN_F_UFO;
  return flags;
}

uint64_t offered_offload_features(unsigned tap_offloads) noexcept {
  uint64_t f = bit(VIRTIO_NET_F_CSUM) | bit(VIRTIO_NET_F_HOST_TSO4) | bit(VIRTIO_NET_F_HOST_TSO6) |
               bit(VIRTIO_NET_F_HOST_ECN) | bit(VIRTIO_NET_F_HOST_UFO);
  if ((tap_offloads & TUN_F_CSUM) == 0) return f;
  f |= bit(VIRTIO_NET_F_GUEST_CSUM);
  if ((tap_offloads & TUN_F_TSO4) != 0) f |= bit(VIRTIO_NET_F_GUEST_TSO4);
  if ((tap_offloads & TUN_F_TSO6) != 0) f |= bit(VIRTIO_NET_F_GUEST_TSO6);
  if ((tap_offloads & TUN_F_TSO_ECN) != 0 && (tap_offloads & (TUN_F_TSO4 | TUN_F_TSO6)) != 0)
    f |= bit(VIRTIO_NET_F_GUEST_ECN);
  if ((tap_offloads & TUN_F_UFO) != 0) f |= bit(VIRTIO_NET_F_GUEST_UFO);
  return f;
}

}  // namespace minivmm::net
