// VsockPacket: header (de)serialisation, TX packet validation and the copies between descriptor
// chains and host buffers. Descriptor ranges were checked against guest RAM by SplitQueue::pop();
// the copies here still go through GuestMemory and stop at the chain's end.
#include "devices/vsock/vsock_packet.hpp"

#include <algorithm>
#include <cstring>

namespace minivmm::vsock {

namespace {

/// Walks the descriptors of one direction, calling fn(gpa, offset-in-span, len) for the part of
/// [offset, offset + total) each covers. False when the direction is shorter than that.
template <typename Fn>
bool for_each_range(const virtio::DescriptorChain& chain, bool writable, uint64_t offset,
                    uint64_t total, Fn&& fn) {
  uint64_t done = 0;
  for (const virtio::Descriptor& d : chain.descriptors) {
    if (d.device_writable != writable) continue;
    if (done == total) break;
    if (offset >= d.len) {
      offset -= d.len;
      continue;
    }
    uint64_t n = std::min<uint64_t>(d.len - offset, total - done);
    if (!fn(d.addr + offset, done, n)) return false;
    done += n;
    offset = 0;
  }
  return done == total;
}

}  // namespace

VsockHeader VsockHeader::decode(std::span<const uint8_t, kHeaderSize> bytes) noexcept {
  virtio_vsock_hdr raw;
  std::memcpy(&raw, bytes.data(), kHeaderSize);
  VsockHeader h;
  h.src_cid = raw.src_cid;
  h.dst_cid = raw.dst_cid;
  h.src_port = raw.src_port;
  h.dst_port = raw.dst_port;
  h.len = raw.len;
  h.type = raw.type;
  h.op = raw.op;
  h.flags = raw.flags;
  h.buf_alloc = raw.buf_alloc;
  h.fwd_cnt = raw.fwd_cnt;
  return h;
}

std::array<uint8_t, kHeaderSize> VsockHeader::encode() const noexcept {
  virtio_vsock_hdr raw;
  raw.src_cid = src_cid;
  raw.dst_cid = dst_cid;
  raw.src_port = src_port;
  raw.dst_port = dst_port;
  raw.len = len;
  raw.type = type;
  raw.op = op;
  raw.flags = flags;
  raw.buf_alloc = buf_alloc;
  raw.fwd_cnt = fwd_cnt;
  std::array<uint8_t, kHeaderSize> out;
  std::memcpy(out.data(), &raw, kHeaderSize);
  return out;
}

const char* describe(TxVerdict v) noexcept {
  switch (v) {
    case TxVerdict::ok:
      return "ok";
    case TxVerdict::malformed:
      return "chain shorter than the packet header";
    case TxVerdict::drop:
      return "source or destination CID not allowed";
    case TxVerdict::reset:
      return "bad type, op or payload length";
  }
  return "unknown";
}

bool read_from_chain(const virtio::DescriptorChain& chain, const GuestMemory& mem, uint64_t offset,
                     std::span<uint8_t> out) noexcept {
  return for_each_range(
      chain, false, offset, out.size(), [&](uint64_t gpa, uint64_t at, uint64_t n) {
        return mem.read(gpa, out.subspan(static_cast<size_t>(at), static_cast<size_t>(n)));
      });
}

bool write_to_chain(const virtio::DescriptorChain& chain, const GuestMemory& mem, uint64_t offset,
                    std::span<const uint8_t> bytes) noexcept {
  return for_each_range(
      chain, true, offset, bytes.size(), [&](uint64_t gpa, uint64_t at, uint64_t n) {
        return mem.write(gpa, bytes.subspan(static_cast<size_t>(at), static_cast<size_t>(n)));
      });
}

TxPacket parse_tx_packet(const virtio::DescriptorChain& chain, const GuestMemory& mem,
                         uint64_t guest_cid, std::vector<uint8_t>& payload) {
  payload.clear();
  TxPacket p;
  std::array<uint8_t, kHeaderSize> raw;
  // Guest-controlled: the chain must hold a whole header; it is copied out once.
  if (chain.readable_len < kHeaderSize || !read_from_chain(chain, mem, 0, raw)) return p;
  p.header = VsockHeader::decode(raw);
  const VsockHeader& h = p.header;
  // Guest-controlled: no impersonation; only the guest's own CID to the host is relayed.
  if (h.src_cid != guest_cid || h.dst_cid != kHostCid) {
    p.verdict = TxVerdict::drop;
    return p;
  }
  // Guest-controlled: type and op must be known; payload length bounded by 64 KiB and the chain.
  const bool known_op = h.op >= VIRTIO_VSOCK_OP_REQUEST && h.op <= VIRTIO_VSOCK_OP_CREDIT_REQUEST;
  if (h.type != VIRTIO_VSOCK_TYPE_STREAM || !known_op || h.len > kMaxPayload ||
      h.len > chain.readable_len - kHeaderSize) {
    p.verdict = TxVerdict::reset;
    return p;
  }
  if (h.op == VIRTIO_VSOCK_OP_RW && h.len > 0) {
    payload.resize(h.len);
    if (!read_from_chain(chain, mem, kHeaderSize, payload)) {
      payload.clear();
      p.verdict = TxVerdict::reset;
      return p;
    }
  }
  p.verdict = TxVerdict::ok;
  return p;
}

bool writable_chain_fits(const virtio::DescriptorChain& chain, uint64_t min_len) noexcept {
  return chain.readable_len == 0 && chain.writable_len >= min_len;
}

uint32_t rx_payload_room(const virtio::DescriptorChain& chain) noexcept {
  if (chain.writable_len <= kHeaderSize) return 0;
  return static_cast<uint32_t>(std::min<uint64_t>(chain.writable_len - kHeaderSize, kMaxPayload));
}

uint32_t write_rx_packet(const virtio::DescriptorChain& chain, const GuestMemory& mem,
                         const VsockHeader& header, std::span<const uint8_t> payload) noexcept {
  const uint64_t total = uint64_t{kHeaderSize} + payload.size();
  if (chain.writable_len < total || payload.size() > kMaxPayload) return 0;
  if (!write_to_chain(chain, mem, 0, header.encode())) return 0;
  if (!payload.empty() && !write_to_chain(chain, mem, kHeaderSize, payload)) return 0;
  return static_cast<uint32_t>(total);
}

}  // namespace minivmm::vsock
