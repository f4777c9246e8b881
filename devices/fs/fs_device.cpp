// FsDevice: option checks, negotiation, configuration space, and the activation lifecycle against
// the backend. Shared state lives in State (one mutex) so event-loop handlers keep it alive after
// the device is gone; Running is one activation. Lock order: State::mu, then FsTakeover's mutex.
// vCPU-thread calls (activate/reset/notify) are already serialized by the transport; the mutex
// orders them against the loop's socket watch and the posted loss handling. Backend loss: record
// the first error, close the connection, post {on_error, take the queues over} to the loop.
#include "devices/fs/fs_device.hpp"

#include "devices/virtio/ring_abi.hpp"

#include <fcntl.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "devices/fs/fs_takeover.hpp"
#include "devices/vhost_user/vhost_user_channel.hpp"
#include "devices/vhost_user/vhost_user_frontend.hpp"

namespace minivmm::fs {

namespace asio = boost::asio;
using vhost_user::VhostUserFrontend;

namespace {

constexpr uint64_t bit(unsigned b) {
  return 1ULL << b;
}
constexpr uint64_t kRingFeatures = bit(VIRTIO_RING_F_EVENT_IDX) | bit(VIRTIO_RING_F_INDIRECT_DESC);

/// Length of the UTF-8 sequence starting at s[i] (RFC 3629: no overlongs, surrogates or code
/// points above U+10FFFF), or 0 when it is invalid.
size_t utf8_sequence(const std::string& s, size_t i) {
  auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  uint8_t c = b(i);
  if (c < 0x80) return 1;
  size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
  if (n == 0 || c > 0xf4 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((b(i + k) & 0xc0) != 0x80) return 0;
  uint8_t c1 = b(i + 1);
  if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 > 0x9f) || (c == 0xf0 && c1 < 0x90) ||
      (c == 0xf4 && c1 > 0x8f))
    return 0;
  return n;
}

Result<void> validate_options(const FsDeviceOptions& o) {
  MINIVMM_TRY_VOID(validate_fs_tag(o.tag));
  const uint32_t q = o.queue_size;
  if (q == 0 || q > kMaxQueueSize || (q & (q - 1)) != 0)
    return make_error(ErrorCode::invalid_config,
                      "virtio-fs {}: queue size {} (a power of two up to {})", o.tag, q,
                      kMaxQueueSize);
  if (o.num_request_queues == 0 || o.num_request_queues > kMaxRequestQueues)
    return make_error(ErrorCode::invalid_config, "virtio-fs {}: {} request queues (1..{})", o.tag,
                      o.num_request_queues, kMaxRequestQueues);
  if (o.backend_timeout.count() <= 0)
    return make_error(ErrorCode::invalid_config, "virtio-fs {}: backend timeout must be positive",
                      o.tag);
  return {};
}

/// Negotiation at create() (vhost-user.rst "Feature negotiation"); returns the backend features.
Result<uint64_t> negotiate(VhostUserFrontend& fe, const FsDeviceOptions& o) {
  MINIVMM_TRY(features, fe.get_features());
  // Backend-controlled: the feature words; we only ever pick known bits out of them.
  if (!(features & bit(VIRTIO_F_VERSION_1)))
    return make_error(ErrorCode::invalid_config,
                      "vhost-user {}: backend does not offer VIRTIO_F_VERSION_1 (features {:#x})",
                      fe.name(), features);
  if (features & bit(vhost_user::kFeatureProtocolFeatures)) {
    MINIVMM_TRY(offered, fe.get_protocol_features());
    uint64_t wanted = offered & (bit(vhost_user::kProtocolMq) | bit(vhost_user::kProtocolReplyAck));
    MINIVMM_TRY_VOID(fe.set_protocol_features(wanted));
    if (wanted & bit(vhost_user::kProtocolMq)) {
      MINIVMM_TRY(queues, fe.get_queue_num());
      if (queues < 1ull + o.num_request_queues)
        return make_error(ErrorCode::invalid_config,
                          "vhost-user {}: backend serves {} queues, {} request queues need {}",
                          fe.name(), queues, o.num_request_queues, 1 + o.num_request_queues);
    }
  }
  MINIVMM_TRY_VOID(fe.set_owner());
  return features;
}

}  // namespace

Result<void> validate_fs_tag(const std::string& tag) {
  if (tag.empty() || tag.size() > kMaxTagBytes)
    return make_error(ErrorCode::invalid_config, "virtio-fs tag \"{}\" has {} bytes (1..{})", tag,
                      tag.size(), kMaxTagBytes);
  for (size_t i = 0; i < tag.size();) {
    auto c = static_cast<uint8_t>(tag[i]);
    // Linux refuses tags with a newline (mount(8) and uevents); no control character is useful.
    if (c < 0x20 || c == 0x7f)
      return make_error(ErrorCode::invalid_config,
                        "virtio-fs tag has a control character at byte {}", i);
    size_t n = utf8_sequence(tag, i);
    if (n == 0)
      return make_error(ErrorCode::invalid_config, "virtio-fs tag is not UTF-8 at byte {}", i);
    i += n;
  }
  return {};
}

struct FsDevice::Running {
  explicit Running(virtio::Activation& a)
      : mem(a.memory),
        io(a.io),
        queues(std::move(a.queues)),
        kicks(a.queue_events),
        irq(std::move(a.interrupt)),
        acked(a.acked_features) {}
  const GuestMemory& mem;
  asio::io_context& io;
  std::vector<virtio::SplitQueue> queues;
  std::span<const EventFd> kicks;  ///< owned by the transport, valid until reset() returns
  std::shared_ptr<virtio::VirtioInterrupt> irq;
  uint64_t acked;
  std::vector<uint32_t> started;                                 ///< rings handed to the backend
  std::unique_ptr<asio::posix::stream_descriptor> socket_watch;  ///< a dup of the socket
  std::shared_ptr<FsTakeover> takeover;
  bool stopped = false;
};

struct FsDevice::State {
  std::mutex mu;
  std::optional<VhostUserFrontend> frontend;
  uint64_t backend_features = 0;
  std::optional<std::string> error;
  std::function<void(const std::string&)> on_error;
  std::shared_ptr<Running> running;
  FsCounters totals;  ///< activations, and the counts of finished takeovers

  bool connected() const { return frontend && !frontend->broken(); }
  Result<void> start_backend(Running& r);
  void take_over(const std::shared_ptr<Running>& r);
  static void lose(const std::shared_ptr<State>& st, const std::shared_ptr<Running>& r,
                   const std::string& why, bool report);
  static void watch_socket(const std::shared_ptr<State>& st, const std::shared_ptr<Running>& r);
};

/// Hands the ready rings to the backend (vhost-user.rst "Starting and stopping rings"). The call
/// fd is set before the kick fd: the backend may start processing as soon as it has the kick.
Result<void> FsDevice::State::start_backend(Running& r) {
  VhostUserFrontend& fe = *frontend;
  const bool protocol = backend_features & bit(vhost_user::kFeatureProtocolFeatures);
  uint64_t set =
      (r.acked & backend_features) | (protocol ? bit(vhost_user::kFeatureProtocolFeatures) : 0);
  MINIVMM_TRY_VOID(fe.set_features(set));
  MINIVMM_TRY_VOID(fe.set_mem_table(r.mem));
  r.irq->set_vring_status_sticky(true);
  for (uint32_t i = 0; i < r.queues.size(); ++i) {
    const virtio::SplitQueue& q = r.queues[i];
    if (!q.active()) continue;
    MINIVMM_TRY_VOID(fe.set_vring_num(i, q.size()));
    MINIVMM_TRY_VOID(fe.set_vring_base(i, 0));
    vhost_user::VringGpas gpas{q.desc_table(), q.avail_ring(), q.used_ring(), q.size()};
    MINIVMM_TRY_VOID(fe.set_vring_addr(i, r.mem, gpas));
    MINIVMM_TRY_VOID(fe.set_vring_call(i, r.irq->irq_event().fd()));
    r.started.push_back(i);  // from the kick on, the backend may own the ring
    MINIVMM_TRY_VOID(fe.set_vring_kick(i, r.kicks[i].fd()));
    if (protocol) MINIVMM_TRY_VOID(fe.set_vring_enable(i, true));
  }
  return {};
}

void FsDevice::State::take_over(const std::shared_ptr<Running>& r) {
  if (r->stopped || r->takeover) return;
  r->takeover =
      std::make_shared<FsTakeover>(r->mem, std::move(r->queues), r->kicks, r->irq, r->io, ENOTCONN);
  if (auto s = r->takeover->start(); !s)
    spdlog::error("virtio-fs: taking the queues over failed: {}", s.error().message());
}

// Called with st->mu held. The queue takeover waits for on_error, which runs outside the lock.
void FsDevice::State::lose(const std::shared_ptr<State>& st, const std::shared_ptr<Running>& r,
                           const std::string& why, bool report) {
  if (!st->error) {
    st->error = why;
    spdlog::error("virtio-fs: backend lost: {}", why);
  }
  if (st->frontend) st->frontend->close(why);
  if (r->socket_watch) {
    boost::system::error_code ignored;
    r->socket_watch->close(ignored);  // our last copy of the socket: the backend sees EOF
  }
  asio::post(r->io, [st, r, why, report] {
    std::function<void(const std::string&)> cb;
    if (report) {
      std::lock_guard lock(st->mu);
      cb = st->on_error;
    }
    if (cb) cb(why);
    std::lock_guard lock(st->mu);
    st->take_over(r);
  });
}

void FsDevice::State::watch_socket(const std::shared_ptr<State>& st,
                                   const std::shared_ptr<Running>& r) {
  r->socket_watch->async_wait(
      asio::posix::descriptor_base::wait_read, [st, r](const boost::system::error_code& ec) {
        std::lock_guard lock(st->mu);
        if (ec || r->stopped || !st->connected()) return;
        bool eof = false;
        // Backend-controlled: the main channel carries only replies to our requests, so anything
        // readable while no request is outstanding is either EOF or a protocol violation.
        if (!vhost_user::readable_now(st->frontend->fd(), eof)) return watch_socket(st, r);
        lose(st, r,
             fmt::format("vhost-user {}: {}", st->frontend->name(),
                         eof ? "backend closed the connection" : "unsolicited message"),
             true);
      });
}

FsDevice::FsDevice(const FsDeviceOptions& o, uint64_t backend_features)
    : m_backend_features(backend_features),
      m_queue_max(1 + o.num_request_queues, o.queue_size),
      m_state(std::make_shared<State>()) {
  m_features = bit(VIRTIO_F_VERSION_1) | (backend_features & kRingFeatures);
  std::memcpy(m_config.tag, o.tag.data(), o.tag.size());
  m_config.num_request_queues = o.num_request_queues;
  m_state->backend_features = backend_features;
  m_state->on_error = o.on_error;
}

Result<std::shared_ptr<FsDevice>> FsDevice::create(FsDeviceOptions o) {
  MINIVMM_TRY_VOID(validate_options(o));
  MINIVMM_TRY(fe, VhostUserFrontend::connect(o.socket_path, o.backend_timeout));
  auto features = negotiate(fe, o);
  if (!features) return tl::unexpected(with_context(features.error(), "virtio-fs " + o.tag));
  std::shared_ptr<FsDevice> dev(new FsDevice(o, *features));
  dev->m_state->frontend.emplace(std::move(fe));
  return dev;
}

FsDevice::~FsDevice() {
  reset();
  std::lock_guard lock(m_state->mu);
  m_state->on_error = nullptr;
  if (m_state->frontend) m_state->frontend->close("device destroyed");
}

uint32_t FsDevice::device_type() const {
  return VIRTIO_ID_FS;
}

void FsDevice::read_config(uint64_t offset, std::span<uint8_t> data) const {
  std::fill(data.begin(), data.end(), uint8_t{0});
  if (offset >= kFsConfigSize) return;
  size_t n = static_cast<size_t>(std::min<uint64_t>(data.size(), kFsConfigSize - offset));
  std::memcpy(data.data(), reinterpret_cast<const uint8_t*>(&m_config) + offset, n);
}

void FsDevice::write_config(uint64_t, std::span<const uint8_t>) {}

Result<void> FsDevice::activate(virtio::Activation a) {
  const std::shared_ptr<State>& st = m_state;
  std::lock_guard lock(st->mu);
  if (st->running || a.queues.size() != m_queue_max.size() ||
      a.queue_events.size() != m_queue_max.size() || !a.interrupt)
    return make_error(ErrorCode::invalid_state, "virtio-fs activate: already active or bad queues");
  auto r = std::make_shared<Running>(a);
  ++st->totals.activations;
  st->running = r;
  if (!st->connected()) {  // lost earlier: serve the guest errors from the start
    asio::post(r->io, [st, r] {
      std::lock_guard l(st->mu);
      st->take_over(r);
    });
    return {};
  }
  if (auto s = st->start_backend(*r); !s) {
    State::lose(st, r, s.error().message(), true);
    return {};
  }
  int fd = ::fcntl(st->frontend->fd(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) {
    State::lose(st, r, fmt::format("virtio-fs: dup vhost-user socket: {}", std::strerror(errno)),
                true);
    return {};
  }
  r->socket_watch = std::make_unique<asio::posix::stream_descriptor>(r->io, fd);
  State::watch_socket(st, r);
  return {};
}

void FsDevice::reset() {
  const std::shared_ptr<State>& st = m_state;
  std::lock_guard lock(st->mu);
  std::shared_ptr<Running> r = std::move(st->running);
  if (!r) return;
  r->stopped = true;
  if (r->socket_watch) {
    boost::system::error_code ignored;
    r->socket_watch->close(ignored);
  }
  if (r->takeover) {
    r->takeover->stop();
    TakeoverCounters c = r->takeover->counters();
    st->totals.requests_failed_after_loss += c.requests_failed;
    st->totals.malformed_after_loss += c.malformed;
  }
  // GET_VRING_BASE stops each ring; once it answers the backend no longer touches it.
  for (uint32_t i : r->started) {
    if (!st->connected()) break;
    if (auto b = st->frontend->get_vring_base(i); !b) State::lose(st, r, b.error().message(), true);
  }
  r->irq->set_vring_status_sticky(false);
}

void FsDevice::notify(uint16_t queue_index) {
  std::lock_guard lock(m_state->mu);
  const auto& r = m_state->running;
  // Guest-controlled: queue_index, checked against the eventfd count.
  if (r && queue_index < r->kicks.size()) r->kicks[queue_index].signal();
}

std::optional<std::string> FsDevice::backend_error() const {
  std::lock_guard lock(m_state->mu);
  return m_state->error;
}

FsCounters FsDevice::counters() const {
  std::lock_guard lock(m_state->mu);
  FsCounters c = m_state->totals;
  c.backend_connected = m_state->connected();
  const auto& r = m_state->running;
  if (r && r->takeover) {
    c.queues_taken_over = true;
    TakeoverCounters t = r->takeover->counters();
    c.requests_failed_after_loss += t.requests_failed;
    c.malformed_after_loss += t.malformed;
  }
  return c;
}

}  // namespace minivmm::fs
