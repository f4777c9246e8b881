// VsockDevice: options, features, config space and the event-loop side of the three queues. All
// queue work and every muxer handler run on the machine's event loop under Running::mu through
// one Dispatch that holds only a weak reference; reset() (a vCPU thread) takes the same mutex,
// marks the activation stopped, closes the kick descriptors and every host socket, and releases
// the queues and the interrupt, so once it returns no handler touches guest memory. After each
// event the device fills RX buffers (pump()), resumes TX if an RST backlog had paused it, and
// raises at most one used-buffer interrupt.
#include "devices/vsock/vsock_device.hpp"

#include <fcntl.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <boost/asio/post.hpp>
#include <cstring>
#include <optional>
#include <vector>

#include "devices/virtio/ring_abi.hpp"
#include "devices/vsock/vsock_packet.hpp"
#include "vmm/sys/rate_limit.hpp"

namespace minivmm::vsock {

namespace asio = boost::asio;

namespace {

constexpr uint32_t kBudget = 64;  // chains per queue per handler run before yielding
constexpr uint64_t kMaxCid = 0xFFFF'FFFEull;
constexpr uint32_t kMinBuffer = 4096;
constexpr uint32_t kMaxBuffer = 64u << 20;
constexpr uint32_t kMaxConnections = 1u << 16;
constexpr uint32_t kMinBacklog = 16;
constexpr uint32_t kMaxBacklog = 4096;

RateLimiter& log_limit() {
  static RateLimiter limiter{10};
  return limiter;
}

}  // namespace

struct VsockDevice::Running : std::enable_shared_from_this<Running> {
  Running(virtio::Activation& a, uint64_t cid, const VsockCounters& c, bool event)
      : mem(a.memory),
        io(a.io),
        guest_cid(cid),
        queues(std::move(a.queues)),
        irq(std::move(a.interrupt)),
        kick_events(a.queue_events),
        counters(c),
        event_pending(event) {}

  Dispatch make_dispatch();
  void post(void (Running::*fn)());
  void arm_kick(uint16_t q);
  void on_kick(uint16_t q);
  void pump();
  void process_tx();
  void handle_tx(const virtio::DescriptorChain& chain);
  void process_rx();
  bool hold_rx_chain();
  void process_event();
  void complete_malformed(uint16_t q, const virtio::PopResult& r);
  void notify_queues();

  std::mutex mu;
  bool stopped = false;
  const GuestMemory& mem;
  asio::io_context& io;
  uint64_t guest_cid;
  std::vector<virtio::SplitQueue> queues;
  std::shared_ptr<virtio::VirtioInterrupt> irq;
  std::span<const EventFd> kick_events;  ///< owned by the transport, valid until reset() returns
  std::vector<asio::posix::stream_descriptor> kicks;  ///< dups of kick_events
  VsockCounters counters;
  Dispatch dispatch;
  std::unique_ptr<VsockMuxer> muxer;
  std::optional<virtio::DescriptorChain> held_rx;  ///< popped, waiting for a packet
  std::vector<uint8_t> tx_payload;
  bool event_pending;
  bool tx_throttled = false;
  std::array<bool, 3> used_added{};
};

Dispatch VsockDevice::Running::make_dispatch() {
  return [w = weak_from_this()](const std::function<void()>& fn) {
    auto self = w.lock();
    if (!self) return;
    std::lock_guard lock(self->mu);
    if (self->stopped) return;
    fn();
    self->pump();
  };
}

void VsockDevice::Running::post(void (Running::*fn)()) {
  asio::post(io, [d = dispatch, this, fn] { d([this, fn] { (this->*fn)(); }); });
}

void VsockDevice::Running::arm_kick(uint16_t q) {
  kicks[q].async_wait(asio::posix::descriptor_base::wait_read,
                      [d = dispatch, this, q](const boost::system::error_code& ec) {
                        if (!ec) d([this, q] { on_kick(q); });
                      });
}

void VsockDevice::Running::on_kick(uint16_t q) {
  kick_events[q].consume();
  if (q == kTxQueue) process_tx();
  if (q == kEventQueue) process_event();
  // RX kicks mean new buffers: pump() (run after every handler) fills them.
  arm_kick(q);
}

void VsockDevice::Running::pump() {
  process_rx();
  if (tx_throttled && !muxer->rx_backlog_full()) {
    tx_throttled = false;
    process_tx();
    process_rx();
  }
  notify_queues();
}

void VsockDevice::Running::complete_malformed(uint16_t q, const virtio::PopResult& r) {
  ++counters.malformed_chains;
  if (r.has_head_to_complete) used_added[q] |= queues[q].add_used(mem, r.head_to_complete, 0);
}

void VsockDevice::Running::notify_queues() {
  bool any = false;
  for (uint16_t q = 0; q < queues.size(); ++q) {
    if (!used_added[q]) continue;
    used_added[q] = false;
    any |= queues[q].needs_notification(mem);
  }
  if (any) irq->signal_used_queue();
}

// Pops at most kBudget chains, then yields to the loop; pauses while so many RSTs wait for RX
// buffers that taking more TX packets would grow the backlog (the rest waits in the avail ring).
void VsockDevice::Running::process_tx() {
  virtio::SplitQueue& q = queues[kTxQueue];
  if (!q.active() || q.broken()) return;
  q.disable_notification(mem);
  for (uint32_t n = 0;; ++n) {
    if (muxer->rx_backlog_full()) {
      tx_throttled = true;
      break;
    }
    if (n == kBudget) {
      post(&Running::process_tx);
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
    // Guest-controlled: a malformed chain is returned with used length 0.
    if (r.status == virtio::PopStatus::malformed) {
      complete_malformed(kTxQueue, r);
      continue;
    }
    handle_tx(r.chain);
    used_added[kTxQueue] |= q.add_used(mem, r.chain.head, 0);
  }
}

void VsockDevice::Running::handle_tx(const virtio::DescriptorChain& chain) {
  const TxPacket p = parse_tx_packet(chain, mem, guest_cid, tx_payload);
  if (p.verdict == TxVerdict::ok) {
    ++counters.tx_packets;
    counters.tx_bytes += tx_payload.size();
    muxer->on_guest_packet(p.header, tx_payload);
    return;
  }
  if (p.verdict == TxVerdict::malformed) {
    ++counters.malformed_chains;
  } else {
    ++counters.dropped_packets;
  }
  if (log_limit().allow()) {
    spdlog::warn("vsock: TX packet op={} type={} src={}:{} dst={}:{} len={}: {}", p.header.op,
                 p.header.type, p.header.src_cid, p.header.src_port, p.header.dst_cid,
                 p.header.dst_port, p.header.len, describe(p.verdict));
  }
  if (p.verdict == TxVerdict::reset) muxer->on_guest_violation(p.header);
}

// Pops an RX chain only when the muxer has something for the guest, and holds it until a packet
// is ready, so an idle device leaves the guest's buffers in the ring.
bool VsockDevice::Running::hold_rx_chain() {
  virtio::SplitQueue& q = queues[kRxQueue];
  for (uint32_t n = 0; n <= q.size(); ++n) {
    virtio::PopResult r = q.pop(mem);
    if (r.status == virtio::PopStatus::empty) {
      if (q.enable_notification(mem)) continue;
      return false;
    }
    if (r.status == virtio::PopStatus::broken) {
      irq->signal_needs_reset();
      return false;
    }
    if (r.status == virtio::PopStatus::malformed) {
      complete_malformed(kRxQueue, r);
      continue;
    }
    // Guest-controlled: RX buffers must be device-writable only, with room for a header and at
    // least one payload byte.
    if (!writable_chain_fits(r.chain, kHeaderSize + 1)) {
      ++counters.malformed_chains;
      used_added[kRxQueue] |= q.add_used(mem, r.chain.head, 0);
      continue;
    }
    held_rx = std::move(r.chain);
    return true;
  }
  return false;
}

void VsockDevice::Running::process_rx() {
  virtio::SplitQueue& q = queues[kRxQueue];
  if (!q.active() || q.broken()) return;
  for (uint32_t n = 0; muxer->has_rx_work(); ++n) {
    if (n == kBudget) {
      post(&Running::process_rx);
      break;
    }
    if (!held_rx && !hold_rx_chain()) break;
    std::optional<RxPacket> p = muxer->next_rx_packet(rx_payload_room(*held_rx));
    if (!p) break;
    const uint32_t len = write_rx_packet(*held_rx, mem, p->header, p->payload);
    used_added[kRxQueue] |= q.add_used(mem, held_rx->head, len);
    held_rx.reset();
    ++counters.rx_packets;
    counters.rx_bytes += p->payload.size();
  }
}

void VsockDevice::Running::process_event() {
  virtio::SplitQueue& q = queues[kEventQueue];
  if (!event_pending || !q.active() || q.broken()) return;
  for (uint32_t n = 0; n <= q.size() && event_pending; ++n) {
    virtio::PopResult r = q.pop(mem);
    if (r.status == virtio::PopStatus::empty) {
      if (q.enable_notification(mem)) continue;
      return;
    }
    if (r.status == virtio::PopStatus::broken) {
      irq->signal_needs_reset();
      return;
    }
    if (r.status == virtio::PopStatus::malformed) {
      complete_malformed(kEventQueue, r);
      continue;
    }
    const virtio_vsock_event ev{VIRTIO_VSOCK_EVENT_TRANSPORT_RESET};
    const auto* bytes = reinterpret_cast<const uint8_t*>(&ev);
    // Guest-controlled: the buffer must be writable and hold the whole event.
    if (!writable_chain_fits(r.chain, sizeof ev) ||
        !write_to_chain(r.chain, mem, 0, {bytes, sizeof ev})) {
      ++counters.malformed_chains;
      used_added[kEventQueue] |= q.add_used(mem, r.chain.head, 0);
      continue;
    }
    used_added[kEventQueue] |= q.add_used(mem, r.chain.head, sizeof ev);
    event_pending = false;
  }
}

VsockDevice::VsockDevice(const VsockOptions& o, UnixListener listener)
    : m_options(o), m_listener(std::move(listener)) {
  m_features = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX) |
               (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
  m_queue_max.fill(o.queue_size);
}

Result<std::shared_ptr<VsockDevice>> VsockDevice::create(const VsockOptions& o) {
  if (o.guest_cid < 3 || o.guest_cid > kMaxCid) {
    return make_error(ErrorCode::invalid_config,
                      "vsock guest_cid {} is reserved (must be 3..{:#x})", o.guest_cid, kMaxCid);
  }
  const uint32_t q = o.queue_size;
  if (q == 0 || (q & (q - 1)) != 0 || q > virtio::kMaxQueueSize || o.max_connections == 0 ||
      o.max_connections > kMaxConnections || o.buffer_size < kMinBuffer ||
      o.buffer_size > kMaxBuffer || o.handshake_timeout.count() <= 0 ||
      o.close_timeout.count() <= 0) {
    return make_error(
        ErrorCode::invalid_config,
        "vsock: queue_size={} max_connections={} buffer_size={} handshake_timeout={}ms "
        "close_timeout={}ms",
        q, o.max_connections, o.buffer_size, o.handshake_timeout.count(), o.close_timeout.count());
  }
  const int backlog = static_cast<int>(std::clamp(o.max_connections, kMinBacklog, kMaxBacklog));
  MINIVMM_TRY(listener, UnixListener::bind(o.uds_path, backlog));
  return std::shared_ptr<VsockDevice>(new VsockDevice(o, std::move(listener)));
}

VsockDevice::~VsockDevice() {
  reset();
}

uint32_t VsockDevice::device_type() const {
  return VIRTIO_ID_VSOCK;
}

void VsockDevice::read_config(uint64_t offset, std::span<uint8_t> data) const {
  std::fill(data.begin(), data.end(), uint8_t{0});
  virtio_vsock_config cfg{};
  cfg.guest_cid = m_options.guest_cid;
  if (offset >= kVsockConfigSize) return;
  const size_t n = static_cast<size_t>(std::min<uint64_t>(data.size(), kVsockConfigSize - offset));
  std::memcpy(data.data(), reinterpret_cast<const uint8_t*>(&cfg) + offset, n);
}

void VsockDevice::write_config(uint64_t, std::span<const uint8_t>) {}

Result<void> VsockDevice::activate(virtio::Activation a) {
  std::lock_guard lock(m_mutex);
  if (m_running || a.queues.size() != 3 || a.queue_events.size() != 3 || !a.interrupt) {
    return make_error(ErrorCode::invalid_state,
                      "virtio-vsock activate: already active or bad queues");
  }
  std::vector<UniqueFd> fds;
  for (int fd :
       {a.queue_events[0].fd(), a.queue_events[1].fd(), a.queue_events[2].fd(), m_listener.fd()}) {
    fds.emplace_back(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
    if (!fds.back()) return errno_error("virtio-vsock: dup fd {}", fd);
  }
  auto r = std::make_shared<Running>(a, m_options.guest_cid, m_counters, m_event_pending);
  r->dispatch = r->make_dispatch();
  for (uint16_t q = 0; q < 3; ++q) r->kicks.emplace_back(r->io, fds[q].release());
  MuxerConfig mc{m_options.guest_cid,   m_options.uds_path,          m_options.max_connections,
                 m_options.buffer_size, m_options.handshake_timeout, m_options.close_timeout};
  r->muxer = std::make_unique<VsockMuxer>(r->io, std::move(mc), std::move(fds[3]), r->dispatch,
                                          r->counters);
  {
    std::lock_guard rl(r->mu);
    for (uint16_t q = 0; q < 3; ++q) r->arm_kick(q);
  }
  // Chains queued before DRIVER_OK and the listener's backlog are handled without a new kick.
  asio::post(r->io, [d = r->dispatch, p = r.get()] {
    d([p] {
      p->process_tx();
      p->process_event();
      p->muxer->start();
    });
  });
  m_running = std::move(r);
  return {};
}

void VsockDevice::reset() {
  std::shared_ptr<Running> r;
  {
    std::lock_guard lock(m_mutex);
    r = std::move(m_running);
  }
  if (!r) return;
  VsockCounters last;
  bool event;
  {
    std::lock_guard rl(r->mu);
    r->stopped = true;
    boost::system::error_code ignored;
    for (auto& k : r->kicks) k.close(ignored);
    const size_t open = r->muxer->stop();  // host programs see end of file now
    r->muxer.reset();
    r->held_rx.reset();
    r->queues.clear();
    r->irq.reset();
    r->kick_events = {};
    last = r->counters;
    event = r->event_pending || open > 0;
  }
  std::lock_guard lock(m_mutex);
  m_counters = last;
  m_event_pending = event;
}

void VsockDevice::notify(uint16_t queue_index) {
  std::lock_guard lock(m_mutex);
  if (m_running && queue_index < 3) m_running->kick_events[queue_index].signal();
}

VsockCounters VsockDevice::counters() const {
  std::shared_ptr<Running> r;
  {
    std::lock_guard lock(m_mutex);
    if (!m_running) return m_counters;
    r = m_running;
  }
  std::lock_guard rl(r->mu);
  return r->counters;
}

bool VsockDevice::transport_reset_pending() const {
  std::shared_ptr<Running> r;
  {
    std::lock_guard lock(m_mutex);
    if (!m_running) return m_event_pending;
    r = m_running;
  }
  std::lock_guard rl(r->mu);
  return r->event_pending;
}

}  // namespace minivmm::vsock
