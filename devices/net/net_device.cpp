// NetDevice: features, configuration space, link state, activation and reset, and the event-loop
// plumbing shared by both queues (kick waits, tap waits, continuations, notifications). All queue
// work runs on the machine's event loop under Running::mu; reset() (a vCPU thread) takes the same
// mutex, marks the activation stopped and closes the loop's descriptors, so once it returns no
// handler touches guest memory or the used rings. Handlers hold a shared_ptr to Running, so an
// aborted wait that runs later still finds valid memory. RX and TX live in net_rx.cpp and
// net_tx.cpp.
#include "devices/net/net_device.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cstring>
#include <random>

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "devices/net/net_running.hpp"
#include "devices/net/virtio_net_abi.hpp"
#include "devices/virtio/ring_abi.hpp"

namespace minivmm::net {

namespace asio = boost::asio;

namespace {

constexpr uint64_t bit(unsigned b) {
  return 1ULL << b;
}

std::array<uint8_t, 6> random_mac() {
  std::random_device rd;
  std::array<uint8_t, 6> mac{};
  for (auto& b : mac) b = static_cast<uint8_t>(rd());
  mac[0] = static_cast<uint8_t>((mac[0] & 0xfe) | 0x02);  // unicast, locally administered
  return mac;
}

/// Assigns a dup of `fd` to `desc`; false (errno set) on failure.
bool assign_dup(asio::posix::stream_descriptor& desc, int fd) {
  UniqueFd dup(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!dup) return false;
  boost::system::error_code ec;
  desc.assign(dup.get(), ec);
  if (ec) {
    errno = ec.value();
    return false;
  }
  dup.release();
  return true;
}

}  // namespace

NetDevice::Running::Running(virtio::Activation& a, NetDevice& device, uint32_t budget_)
    : dev(device),
      mem(a.memory),
      io(a.io),
      queues{std::move(a.queues[0]), std::move(a.queues[1])},
      irq(std::move(a.interrupt)),
      events{&a.queue_events[0], &a.queue_events[1]},
      kicks{asio::posix::stream_descriptor(a.io), asio::posix::stream_descriptor(a.io)},
      tap_wait(a.io),
      acked(a.acked_features),
      budget(budget_),
      tx_buf(kMaxFrameLen),
      rx_buf(kMaxFrameLen) {}

void NetDevice::Running::arm_kick(uint16_t q) {
  kicks[q].async_wait(asio::posix::descriptor_base::wait_read,
                      [self = shared_from_this(), q](const boost::system::error_code& ec) {
                        std::lock_guard lock(self->mu);
                        if (self->stopped || ec) return;
                        self->events[q]->consume();
                        if (q == kRxQueue) self->process_rx();
                        if (q == kTxQueue) self->process_tx();
                        self->arm_kick(q);
                      });
}

// Only armed after a read returned EAGAIN: the reactor is edge-triggered, so a wait armed while
// a frame is still queued would never fire.
void NetDevice::Running::arm_tap_read() {
  if (tap_read_armed || !tap_wait.is_open()) return;
  tap_read_armed = true;
  tap_wait.async_wait(asio::posix::descriptor_base::wait_read,
                      [self = shared_from_this()](const boost::system::error_code& ec) {
                        std::lock_guard lock(self->mu);
                        self->tap_read_armed = false;
                        if (self->stopped || ec) return;
                        self->process_rx();
                      });
}

// Watches for EPOLLERR/EPOLLHUP (a deleted tap polls as an error) even while RX is not reading.
void NetDevice::Running::arm_tap_error() {
  tap_wait.async_wait(asio::posix::descriptor_base::wait_error,
                      [self = shared_from_this()](const boost::system::error_code& ec) {
                        std::lock_guard lock(self->mu);
                        if (self->stopped || ec) return;
                        self->tap_failed("poll", 0);
                      });
}

void NetDevice::Running::post(uint16_t q) {
  if (posted[q]) return;
  posted[q] = true;
  asio::post(io, [self = shared_from_this(), q] {
    std::lock_guard lock(self->mu);
    self->posted[q] = false;
    if (self->stopped) return;
    if (q == kRxQueue) self->process_rx();
    if (q == kTxQueue) self->process_tx();
  });
}

void NetDevice::Running::notify(uint16_t q) {
  if (!used_added[q]) return;
  used_added[q] = false;
  if (queues[q].needs_notification(mem)) irq->signal_used_queue();
}

void NetDevice::Running::tap_failed(const char* operation, int error) {
  boost::system::error_code ignored;
  tap_wait.close(ignored);  // stop polling the tap for good
  tap_read_armed = false;
  dev.mark_tap_failed(operation, error, irq.get());
}

void NetDevice::mark_tap_failed(const char* operation, int error, virtio::VirtioInterrupt* irq) {
  if (m_tap_failed.exchange(true, std::memory_order_acq_rel)) return;
  if (m_log_limit.allow()) {
    spdlog::warn("virtio-net {}: tap {} failed ({}): link down, transmitted frames are dropped",
                 m_tap.name(), operation, error != 0 ? std::strerror(error) : "error/hangup");
  }
  if (irq != nullptr) irq->signal_config_change();
  if (m_options.on_error)
    m_options.on_error(fmt::format("tap {} {}: {}", m_tap.name(), operation,
                                   error != 0 ? std::strerror(error) : "error/hangup"));
}

NetDevice::NetDevice(Tap tap, const NetDeviceOptions& o, const std::array<uint8_t, 6>& mac)
    : m_tap(std::move(tap)), m_options(o), m_mac(mac) {
  m_features = bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_RING_F_INDIRECT_DESC) |
               bit(VIRTIO_RING_F_EVENT_IDX) | bit(VIRTIO_NET_F_MAC) | bit(VIRTIO_NET_F_MTU) |
               bit(VIRTIO_NET_F_STATUS) | bit(VIRTIO_NET_F_MRG_RXBUF) |
               offered_offload_features(m_tap.supported_offloads());
  m_queue_max = {o.queue_size, o.queue_size};
}

Result<std::shared_ptr<NetDevice>> NetDevice::create(Tap tap, const NetDeviceOptions& o) {
  const uint32_t q = o.queue_size;
  if (q < 2 || (q & (q - 1)) != 0 || q > virtio::kMaxQueueSize || o.mtu < 68 ||
      o.frames_per_wakeup == 0) {
    return make_error(ErrorCode::invalid_config,
                      "virtio-net {}: queue_size={} mtu={} frames_per_wakeup={}", tap.name(), q,
                      o.mtu, o.frames_per_wakeup);
  }
  if (o.mac && (((*o.mac)[0] & 1) != 0 ||
                std::all_of(o.mac->begin(), o.mac->end(), [](uint8_t b) { return b == 0; }))) {
    return make_error(ErrorCode::invalid_config,
                      "virtio-net {}: MAC {:02x} is multicast or all zero", tap.name(),
                      fmt::join(*o.mac, ":"));
  }
  const std::array<uint8_t, 6> mac = o.mac ? *o.mac : random_mac();
  return std::shared_ptr<NetDevice>(new NetDevice(std::move(tap), o, mac));
}

NetDevice::~NetDevice() {
  reset();
}

uint32_t NetDevice::device_type() const {
  return VIRTIO_ID_NET;
}

bool NetDevice::accept_features(uint64_t acked) const {
  return features_consistent(acked);
}

void NetDevice::read_config(uint64_t offset, std::span<uint8_t> data) const {
  std::fill(data.begin(), data.end(), uint8_t{0});
  NetConfigSpace cfg;
  std::memcpy(cfg.mac, m_mac.data(), m_mac.size());
  cfg.status = link_up() ? VIRTIO_NET_S_LINK_UP : 0;
  cfg.max_virtqueue_pairs = 1;
  cfg.mtu = m_options.mtu;
  if (offset >= kNetConfigSize) return;
  size_t n = static_cast<size_t>(std::min<uint64_t>(data.size(), kNetConfigSize - offset));
  std::memcpy(data.data(), reinterpret_cast<const uint8_t*>(&cfg) + offset, n);
}

void NetDevice::write_config(uint64_t, std::span<const uint8_t>) {}

Result<void> NetDevice::activate(virtio::Activation a) {
  std::lock_guard lock(m_mutex);
  if (m_running || a.queues.size() != 2 || a.queue_events.size() != 2 || !a.interrupt) {
    return make_error(ErrorCode::invalid_state,
                      "virtio-net {}: activate: already active or bad queues", m_tap.name());
  }
  if (link_up()) {
    auto r = m_tap.set_offload(tun_offloads_for(a.acked_features));
    if (!r) {
      const std::error_code& ec = r.error().code();
      if (ec.category() != std::system_category() || !is_tap_failure_errno(ec.value()))
        return tl::unexpected(r.error());
      mark_tap_failed("TUNSETOFFLOAD", ec.value(), a.interrupt.get());  // the tap is gone
    }
  }
  auto run = std::make_shared<Running>(a, *this, m_options.frames_per_wakeup);
  run->counters = m_last_counters;
  for (uint16_t q : {kRxQueue, kTxQueue}) {
    if (!assign_dup(run->kicks[q], run->events[q]->fd()))
      return errno_error("virtio-net {}: watch queue {} eventfd", m_tap.name(), q);
  }
  if (link_up() && !assign_dup(run->tap_wait, m_tap.fd()))
    return errno_error("virtio-net {}: watch tap fd", m_tap.name());
  {
    std::lock_guard rl(run->mu);
    run->arm_kick(kRxQueue);
    run->arm_kick(kTxQueue);
    if (run->tap_wait.is_open()) run->arm_tap_error();
    // Buffers and frames queued before DRIVER_OK are picked up without a kick.
    run->post(kRxQueue);
    run->post(kTxQueue);
  }
  m_running = std::move(run);
  return {};
}

void NetDevice::reset() {
  std::shared_ptr<Running> r;
  {
    std::lock_guard lock(m_mutex);
    r = std::move(m_running);
  }
  if (!r) return;
  NetCounters last;
  {
    std::lock_guard rl(r->mu);
    r->stopped = true;
    boost::system::error_code ignored;
    for (auto& k : r->kicks) k.close(ignored);
    r->tap_wait.close(ignored);
    if (r->rx_len != 0) ++r->counters.rx_drops;  // the held frame dies with the activation
    r->rx_len = 0;
    r->rx_chains.clear();
    r->irq.reset();
    last = r->counters;
  }
  std::lock_guard lock(m_mutex);
  m_last_counters = last;
}

void NetDevice::notify(uint16_t queue_index) {
  std::lock_guard lock(m_mutex);
  if (m_running && queue_index < 2) m_running->events[queue_index]->signal();
}

NetCounters NetDevice::counters() const {
  std::shared_ptr<Running> r;
  NetCounters c;
  {
    std::lock_guard lock(m_mutex);
    r = m_running;
    c = m_last_counters;
  }
  if (r) {
    std::lock_guard rl(r->mu);
    c = r->counters;
  }
  c.link_up = link_up();
  return c;
}

}  // namespace minivmm::net
