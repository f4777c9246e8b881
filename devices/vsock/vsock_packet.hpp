// VsockPacket: the wire format of virtio-vsock (virtio v1.2 5.10.6): struct virtio_vsock_hdr from
// <linux/virtio_vsock.h> decoded into a host struct, the validation of a packet the driver put on
// the TX queue (header length, addressing, type, op, payload length against 64 KiB and against
// the chain), and copying a packet into an RX or event chain. Every header is copied out of guest
// memory once and then checked. It does no host I/O and keeps no connection state
// (vsock_connection.hpp does); it never acts on a guest length before bounding it.
#pragma once

#include <linux/virtio_vsock.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "devices/virtio/descriptor_chain.hpp"
#include "vmm/memory/guest_memory.hpp"

namespace minivmm::vsock {

/// VMADDR_CID_HOST (<linux/vm_sockets.h>): the only destination CID the device serves.
inline constexpr uint64_t kHostCid = 2;
/// The size of struct virtio_vsock_hdr on the wire.
inline constexpr uint32_t kHeaderSize = 44;
static_assert(sizeof(virtio_vsock_hdr) == kHeaderSize);
/// The largest payload of one packet (VIRTIO_VSOCK_MAX_PKT_BUF_SIZE in Linux).
inline constexpr uint32_t kMaxPayload = 64 * 1024;

/// struct virtio_vsock_hdr in host byte order (the wire is little-endian, like the host).
struct VsockHeader {
  uint64_t src_cid = 0;
  uint64_t dst_cid = 0;
  uint32_t src_port = 0;
  uint32_t dst_port = 0;
  uint32_t len = 0;
  uint16_t type = 0;
  uint16_t op = 0;
  uint32_t flags = 0;
  uint32_t buf_alloc = 0;
  uint32_t fwd_cnt = 0;

  static VsockHeader decode(std::span<const uint8_t, kHeaderSize> bytes) noexcept;
  std::array<uint8_t, kHeaderSize> encode() const noexcept;
};

/// What the device must do with a TX chain.
enum class TxVerdict {
  ok,         ///< a well-formed stream packet from the guest to the host: hand it to the muxer
  malformed,  ///< fewer than kHeaderSize readable bytes: no header to trust; count and drop
  drop,       ///< src_cid is not the guest's CID or dst_cid is not the host: drop silently
  reset,      ///< unknown type or op, or a payload length above 64 KiB or the chain: RST
};
const char* describe(TxVerdict v) noexcept;

struct TxPacket {
  TxVerdict verdict = TxVerdict::malformed;
  VsockHeader header;  ///< decoded when verdict != malformed
};

/// Reads and validates the packet in a TX chain (5.10.6.2). For an ok OP_RW packet `payload`
/// receives the header.len payload bytes; it is left empty otherwise (the payload of control ops
/// is ignored). Writable descriptors of the chain are ignored. `payload` is an out-parameter so
/// the caller can reuse its capacity; its size never exceeds kMaxPayload.
TxPacket parse_tx_packet(const virtio::DescriptorChain& chain, const GuestMemory& mem,
                         uint64_t guest_cid, std::vector<uint8_t>& payload);

/// True for an RX (or event) chain the device can write `min_len` bytes to: device-writable
/// descriptors only and more than `min_len - 1` bytes of them.
bool writable_chain_fits(const virtio::DescriptorChain& chain, uint64_t min_len) noexcept;
/// The payload room of an RX chain after the header, capped at kMaxPayload. The chain must
/// satisfy writable_chain_fits(chain, kHeaderSize).
uint32_t rx_payload_room(const virtio::DescriptorChain& chain) noexcept;

/// Copies `bytes` to the chain's writable buffers from byte `offset` on; false (possibly
/// partially written) when they do not fit.
bool write_to_chain(const virtio::DescriptorChain& chain, const GuestMemory& mem, uint64_t offset,
                    std::span<const uint8_t> bytes) noexcept;
/// Copies the chain's readable bytes from byte `offset` on into `out`; false when the readable
/// part is shorter than offset + out.size().
bool read_from_chain(const virtio::DescriptorChain& chain, const GuestMemory& mem, uint64_t offset,
                     std::span<uint8_t> out) noexcept;

/// Writes header + payload into an RX chain; returns the used length, 0 when it does not fit.
uint32_t write_rx_packet(const virtio::DescriptorChain& chain, const GuestMemory& mem,
                         const VsockHeader& header, std::span<const uint8_t> payload) noexcept;

}  // namespace minivmm::vsock
