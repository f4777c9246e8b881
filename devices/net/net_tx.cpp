// NetDevice transmit path: pops TX chains (at most `budget` per wakeup, then a posted
// continuation), copies each frame once out of guest memory into the host TX buffer, validates the
// copied header (vnet_header.hpp) and writes the frame to the tap. Every chain goes back with used
// length 0 (the device writes nothing into TX buffers); a frame that cannot be sent is dropped and
// counted. It never waits for the tap: a full tap (EAGAIN/ENOBUFS) drops the frame, as a NIC with
// a full transmit ring would.
#include <cstring>

#include <spdlog/spdlog.h>

#include "devices/net/net_running.hpp"

namespace minivmm::net {

void NetDevice::Running::process_tx() {
  virtio::SplitQueue& q = queues[kTxQueue];
  if (!q.active() || q.broken()) return;
  q.disable_notification(mem);
  for (uint32_t n = 0;; ++n) {
    if (n == budget) {
      post(kTxQueue);
      break;
    }
    virtio::PopResult r = q.pop(mem);
    if (r.status == virtio::PopStatus::empty) {
      if (q.enable_notification(mem)) continue;  // raced with the driver: pop again
      break;
    }
    if (r.status == virtio::PopStatus::broken) {
      irq->signal_needs_reset();
      break;
    }
    // Guest-controlled: a malformed chain is returned with used length 0 when pop() names a head.
    if (r.status == virtio::PopStatus::malformed) {
      ++counters.malformed_chains;
      ++counters.tx_drops;
      if (r.has_head_to_complete) used_added[kTxQueue] |= q.add_used(mem, r.head_to_complete, 0);
      continue;
    }
    transmit(r.chain);
    used_added[kTxQueue] |= q.add_used(mem, r.chain.head, 0);
  }
  notify(kTxQueue);
}

void NetDevice::Running::transmit(const virtio::DescriptorChain& chain) {
  // Guest-controlled: the chain's layout. Device-readable only, at least a header, at most
  // kMaxFrameLen bytes in all (checked before anything is copied, so no large allocation).
  if (chain.writable_len != 0 || chain.readable_len < kVnetHdrSize ||
      chain.readable_len > kMaxFrameLen) {
    ++counters.malformed_chains;
    ++counters.tx_drops;
    return;
  }
  size_t len = 0;
  for (const virtio::Descriptor& d : chain.descriptors) {
    // Guest-controlled: d.len; the sum is readable_len <= kMaxFrameLen = tx_buf.size().
    if (!mem.read(d.addr, std::span(tx_buf.data() + len, d.len))) {
      ++counters.malformed_chains;
      ++counters.tx_drops;
      return;
    }
    len += d.len;
  }
  virtio_net_hdr_v1 hdr;
  std::memcpy(&hdr, tx_buf.data(), sizeof hdr);  // validated from this host copy only
  // Guest-controlled: every header field, checked against the negotiated features and length.
  TxHeaderVerdict v = validate_tx_header(hdr, len - kVnetHdrSize, acked);
  if (v != TxHeaderVerdict::ok) {
    ++counters.tx_drops;
    if (guest_log.allow())
      spdlog::debug("virtio-net {}: TX frame dropped: {}", dev.tap_name(), describe(v));
    return;
  }
  send_to_tap(len);
}

// Writes the validated frame in tx_buf[0, len) to the tap and counts the outcome.
void NetDevice::Running::send_to_tap(size_t len) {
  if (!link_up()) {
    ++counters.tx_drops;
    return;
  }
  TapIo w = dev.m_tap.write_frame(std::span<const uint8_t>(tx_buf.data(), len));
  switch (w.status) {
    case TapIoStatus::ok:
      ++counters.tx_packets;
      counters.tx_bytes += len - kVnetHdrSize;
      break;
    case TapIoStatus::would_block:
      ++counters.tx_drops;
      break;
    case TapIoStatus::frame_error:
      ++counters.tx_errors;
      if (guest_log.allow())
        spdlog::warn("virtio-net {}: tap refused a {}-byte frame: {}", dev.tap_name(), len,
                     std::strerror(w.error));
      break;
    case TapIoStatus::failed:
      ++counters.tx_errors;
      tap_failed("write", w.error);
      break;
  }
}

}  // namespace minivmm::net
