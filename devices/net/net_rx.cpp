// NetDevice receive path. One frame at a time: read it from the tap into the host RX buffer
// (sanitising its header for the negotiated offloads), gather RX chains until they can hold it
// (one chain without VIRTIO_NET_F_MRG_RXBUF, as many as needed with it), scatter it, set
// num_buffers and publish the chains together. Flow control: the tap is polled only after a read
// returned EAGAIN; when the ring runs dry the frame already read stays pending (with the chains
// gathered so far), the tap is not read again, notifications are re-enabled and the next RX kick
// resumes. So a host flood costs at most one frame of memory and no CPU while the guest posts no
// buffers; the rest stays in the tap's own bounded queue.
#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>

#include "devices/net/net_running.hpp"
#include "devices/net/virtio_net_abi.hpp"

namespace minivmm::net {

namespace {

/// Copies `bytes` into the chain's writable descriptors from the start; false if any write
/// failed (cannot happen for a validated chain, but guest memory is never trusted blindly).
bool write_to_chain(const GuestMemory& mem, const virtio::DescriptorChain& chain,
                    std::span<const uint8_t> bytes) {
  size_t off = 0;
  for (const virtio::Descriptor& d : chain.descriptors) {
    if (off == bytes.size()) break;
    size_t n = std::min<size_t>(d.len, bytes.size() - off);
    if (!mem.write(d.addr, bytes.subspan(off, n))) return false;
    off += n;
  }
  return off == bytes.size();
}

/// Read errors that lose one frame but leave the tap usable (the kernel consumed the frame).
bool is_frame_read_errno(int e) {
  return e == EFAULT || e == EMSGSIZE || e == ENOMEM || e == ENOBUFS;
}

}  // namespace

void NetDevice::Running::process_rx() {
  virtio::SplitQueue& q = queues[kRxQueue];
  if (!q.active() || q.broken()) return;
  q.disable_notification(mem);
  for (uint32_t n = 0;; ++n) {
    if (n == budget) {
      post(kRxQueue);
      break;
    }
    if (rx_len == 0) {
      ReadResult r = read_from_tap();
      if (r == ReadResult::stop) break;
      if (r == ReadResult::skipped) continue;
    }
    if (!deliver_pending()) break;  // no buffers: the frame waits for the next kick
  }
  notify(kRxQueue);
}

NetDevice::Running::ReadResult NetDevice::Running::read_from_tap() {
  if (!link_up() || !tap_wait.is_open()) return ReadResult::stop;
  TapIo r = dev.m_tap.read_frame(rx_buf);
  if (r.status == TapIoStatus::would_block) {
    arm_tap_read();
    return ReadResult::stop;
  }
  if (r.status != TapIoStatus::ok) {
    ++counters.rx_errors;
    if (r.error != 0 && is_frame_read_errno(r.error)) return ReadResult::skipped;
    tap_failed("read", r.error);
    return ReadResult::stop;
  }
  if (r.bytes < kVnetHdrSize + ETH_HLEN) {
    ++counters.rx_errors;
    return ReadResult::skipped;
  }
  virtio_net_hdr_v1 hdr;
  std::memcpy(&hdr, rx_buf.data(), sizeof hdr);
  if (!sanitize_rx_header(hdr, acked)) {
    ++counters.rx_drops;
    return ReadResult::skipped;
  }
  std::memcpy(rx_buf.data(), &hdr, sizeof hdr);
  rx_len = r.bytes;
  return ReadResult::frame;
}

// Gathers chains for the pending frame and writes it. False when the ring ran dry (the frame and
// the chains gathered so far are kept) or broke.
bool NetDevice::Running::deliver_pending() {
  virtio::SplitQueue& q = queues[kRxQueue];
  const bool mergeable = (acked & (1ULL << VIRTIO_NET_F_MRG_RXBUF)) != 0;
  while (rx_capacity < rx_len) {
    if (!mergeable && !rx_chains.empty()) {
      // Without MRG_RXBUF a frame must fit one chain: drop it and return the chain unused.
      ++counters.rx_drops;
      used_added[kRxQueue] |= q.add_used(mem, rx_chains.front().head, 0);
      rx_chains.clear();
      rx_capacity = 0;
      rx_len = 0;
      return true;
    }
    virtio::PopResult r = q.pop(mem);
    if (r.status == virtio::PopStatus::empty) {
      if (q.enable_notification(mem)) continue;  // raced with the driver: pop again
      return false;
    }
    if (r.status == virtio::PopStatus::broken) {
      irq->signal_needs_reset();
      return false;
    }
    if (r.status == virtio::PopStatus::malformed) {
      ++counters.malformed_chains;
      if (r.has_head_to_complete) used_added[kRxQueue] |= q.add_used(mem, r.head_to_complete, 0);
      continue;
    }
    // Guest-controlled: an RX chain must be device-writable only and hold at least a header
    // (5.1.6.3.1); otherwise it is returned unused.
    if (r.chain.readable_len != 0 || r.chain.writable_len < kVnetHdrSize) {
      ++counters.malformed_chains;
      used_added[kRxQueue] |= q.add_used(mem, r.chain.head, 0);
      continue;
    }
    rx_capacity += r.chain.writable_len;
    rx_chains.push_back(std::move(r.chain));
  }
  write_pending();
  return true;
}

// Scatters the pending frame over rx_chains (which hold enough room, each chain at least a
// header) and publishes them in order.
void NetDevice::Running::write_pending() {
  virtio::SplitQueue& q = queues[kRxQueue];
  const auto num_buffers = static_cast<uint16_t>(rx_chains.size());  // <= queue size <= 32768
  std::memcpy(rx_buf.data() + offsetof(virtio_net_hdr_v1, num_buffers), &num_buffers,
              sizeof num_buffers);
  size_t off = 0;
  for (const virtio::DescriptorChain& c : rx_chains) {
    // Guest-controlled: writable_len; each chain takes at most what it can hold.
    const size_t take = static_cast<size_t>(std::min<uint64_t>(rx_len - off, c.writable_len));
    const bool ok = write_to_chain(mem, c, std::span<const uint8_t>(rx_buf.data() + off, take));
    if (!ok) ++counters.rx_errors;
    used_added[kRxQueue] |= q.add_used(mem, c.head, ok ? static_cast<uint32_t>(take) : 0);
    off += take;
  }
  ++counters.rx_packets;
  counters.rx_bytes += rx_len - kVnetHdrSize;
  rx_chains.clear();
  rx_capacity = 0;
  rx_len = 0;
}

}  // namespace minivmm::net
