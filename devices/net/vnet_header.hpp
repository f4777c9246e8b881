// vnet_header: the pure rules around struct virtio_net_hdr_v1 (virtio v1.2 5.1.6) and the
// offload features. It validates the header of a frame the guest transmits against the negotiated
// features and the frame length, checks what the tap hands us before it reaches the guest, checks
// a driver's feature set for the dependencies of 5.1.3.1, and maps features to TUNSETOFFLOAD
// flags and back. No I/O, no guest memory, no queues: the device (net_device.hpp) copies headers
// out of guest memory and applies these verdicts; the backend (tap.hpp) issues the ioctls.
#pragma once

#include <cstddef>
#include <cstdint>

#include "devices/net/virtio_net_abi.hpp"

namespace minivmm::net {

/// The header in front of every frame on both queues and on the tap (VERSION_1 always uses the
/// 12-byte layout with num_buffers, 5.1.6).
inline constexpr size_t kVnetHdrSize = sizeof(virtio_net_hdr_v1);
static_assert(kVnetHdrSize == 12);
/// The largest frame (header included) either direction carries: a 64 KiB GSO packet plus the
/// Ethernet header. Longer TX chains are dropped without copying; host buffers have this size.
inline constexpr size_t kMaxFrameLen = kVnetHdrSize + ETH_HLEN + 65536;
static_assert(kMaxFrameLen == 65562);
/// The largest Ethernet frame after the header.
inline constexpr size_t kMaxEthFrameLen = kMaxFrameLen - kVnetHdrSize;

/// Why a transmitted header was refused (the frame is dropped and counted, never sent).
enum class TxHeaderVerdict {
  ok = 0,
  frame_too_short,       ///< fewer than ETH_HLEN bytes after the header
  frame_too_long,        ///< more than kMaxEthFrameLen bytes after the header
  bad_flags,             ///< a flag other than NEEDS_CSUM (DATA_VALID, RSC_INFO are RX-only)
  csum_not_negotiated,   ///< NEEDS_CSUM without VIRTIO_NET_F_CSUM
  csum_out_of_frame,     ///< csum_start + csum_offset + 2 > frame length
  bad_gso_type,          ///< not NONE/TCPV4/TCPV6/UDP, or ECN on NONE/UDP
  gso_not_negotiated,    ///< the matching VIRTIO_NET_F_HOST_* (or HOST_ECN) was not acked
  gso_without_csum,      ///< GSO without NEEDS_CSUM (5.1.6.2.1)
  bad_gso_size,          ///< gso_size 0 on a GSO frame
  hdr_len_out_of_frame,  ///< hdr_len > frame length
};
const char* describe(TxHeaderVerdict v) noexcept;

/// Checks a TX header copied out of guest memory. `frame_len` is the number of bytes after the
/// header; `acked` the negotiated feature bits.
TxHeaderVerdict validate_tx_header(const virtio_net_hdr_v1& hdr, size_t frame_len,
                                   uint64_t acked) noexcept;

/// Makes a header read from the tap fit what the driver negotiated (5.1.6.4.1): without
/// GUEST_CSUM the flags are cleared (DATA_VALID dropped), unknown flags are cleared, and
/// num_buffers is left for the caller. False when the frame cannot be delivered as is: it needs a
/// checksum (NEEDS_CSUM) or segmentation (gso_type) the driver did not accept, as can happen for
/// frames the tap queued under a previous driver's offloads.
bool sanitize_rx_header(virtio_net_hdr_v1& hdr, uint64_t acked) noexcept;

/// The driver's feature set obeys the dependencies of virtio v1.2 5.1.3.1: GUEST_TSO4/TSO6/UFO
/// need GUEST_CSUM, GUEST_ECN needs GUEST_TSO4 or TSO6, HOST_TSO4/TSO6/UFO need CSUM, HOST_ECN
/// needs HOST_TSO4 or TSO6.
bool features_consistent(uint64_t acked) noexcept;

/// TUNSETOFFLOAD flags mirroring the driver's GUEST_* features: GUEST_CSUM -> TUN_F_CSUM and,
/// only with it, GUEST_TSO4/TSO6/UFO -> TSO4/TSO6/UFO, GUEST_ECN -> TSO_ECN (with a TSO flag).
unsigned tun_offloads_for(uint64_t acked) noexcept;

/// The offload features to offer given the TUN_F_* flags the tap accepts. GUEST_* only for
/// what the tap can deliver; CSUM and HOST_TSO4/TSO6/ECN/UFO always (a vnet-header tap accepts
/// partially checksummed and GSO frames on write). The result is itself features_consistent().
uint64_t offered_offload_features(unsigned tap_offloads) noexcept;

}  // namespace minivmm::net
