// Implementation of FsTakeover: one stream_descriptor per active queue on a dup of its kick
// eventfd; handlers hold a shared_ptr to the takeover and do nothing once stop() has run (both
// under m_mu). Ring indices read from guest memory are guest- or backend-controlled and only
// ever used through SplitQueue, which bounds them.
#include "devices/fs/fs_takeover.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "devices/fs/fuse_error_reply.hpp"
#include "vmm/sys/rate_limit.hpp"

namespace minivmm::fs {

namespace asio = boost::asio;

namespace {

RateLimiter& log_limit() {
  static RateLimiter limiter{10};
  return limiter;
}

}  // namespace

FsTakeover::FsTakeover(const GuestMemory& memory, std::vector<virtio::SplitQueue> queues,
                       std::span<const EventFd> kicks,
                       std::shared_ptr<virtio::VirtioInterrupt> interrupt, asio::io_context& io,
                       int errno_value, uint32_t chains_per_wakeup)
    : m_mem(memory),
      m_irq(std::move(interrupt)),
      m_io(io),
      m_errno(errno_value),
      m_budget(chains_per_wakeup == 0 ? 1 : chains_per_wakeup) {
  for (size_t i = 0; i < queues.size(); ++i)
    m_queues.push_back({std::move(queues[i]), i < kicks.size() ? &kicks[i] : nullptr, nullptr});
}

Result<void> FsTakeover::start() {
  std::lock_guard lock(m_mu);
  if (m_stopped) return {};
  for (size_t i = 0; i < m_queues.size(); ++i) {
    Queue& q = m_queues[i];
    if (!q.ring.active() || q.kick == nullptr) continue;
    // Backend-controlled (and guest-writable): used.idx. pop() rejects an avail.idx more than a
    // queue size ahead of it, so a bogus value breaks the ring instead of replaying it.
    auto used_idx = m_mem.read_obj<uint16_t>(q.ring.used_ring() + 2);
    if (!used_idx) continue;  // unreachable: validate() checked the ring
    q.ring.restore_indices(*used_idx, *used_idx);
    int fd = ::fcntl(q.kick->fd(), F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return errno_error("virtio-fs takeover: dup queue {} eventfd", i);
    q.watch = std::make_unique<asio::posix::stream_descriptor>(m_io, fd);
    process(i);
    arm(i);
  }
  return {};
}

void FsTakeover::stop() {
  std::lock_guard lock(m_mu);
  m_stopped = true;
  for (Queue& q : m_queues) {
    if (!q.watch) continue;
    boost::system::error_code ignored;
    q.watch->close(ignored);
  }
}

TakeoverCounters FsTakeover::counters() const {
  std::lock_guard lock(m_mu);
  return m_counters;
}

void FsTakeover::arm(size_t index) {
  m_queues[index].watch->async_wait(
      asio::posix::descriptor_base::wait_read,
      [self = shared_from_this(), index](const boost::system::error_code& ec) {
        std::lock_guard lock(self->m_mu);
        if (self->m_stopped || ec) return;
        self->m_queues[index].kick->consume();
        self->process(index);
        self->arm(index);
      });
}

// Answers at most m_budget chains, then yields to the loop (the rest stays in the avail ring and
// is picked up by a posted continuation).
void FsTakeover::process(size_t index) {
  virtio::SplitQueue& q = m_queues[index].ring;
  if (!q.active() || q.broken()) return;
  bool used = false;
  q.disable_notification(m_mem);
  for (uint32_t n = 0;; ++n) {
    if (n == m_budget) {
      asio::post(m_io, [self = shared_from_this(), index] {
        std::lock_guard lock(self->m_mu);
        if (!self->m_stopped) self->process(index);
      });
      break;
    }
    virtio::PopResult r = q.pop(m_mem);
    if (r.status == virtio::PopStatus::empty) {
      if (q.enable_notification(m_mem)) continue;  // raced with the driver: pop again
      break;
    }
    if (r.status == virtio::PopStatus::broken) {
      m_irq->signal_needs_reset();
      break;
    }
    // Guest-controlled: a malformed chain is returned with used length 0 when it has a head.
    if (r.status == virtio::PopStatus::malformed) {
      ++m_counters.malformed;
      if (r.has_head_to_complete) used |= q.add_used(m_mem, r.head_to_complete, 0);
      continue;
    }
    FuseErrorOutcome o = answer_with_fuse_error(m_mem, r.chain, m_errno);
    if (o.no_reply) {
      ++m_counters.no_reply;
    } else if (o.malformed) {
      ++m_counters.malformed;
      if (log_limit().allow())
        spdlog::warn("virtio-fs: queue {} head {}: no FUSE header or reply space, returned empty",
                     index, r.chain.head);
    } else {
      ++m_counters.requests_failed;
    }
    used |= q.add_used(m_mem, r.chain.head, o.used_len);
  }
  if (used && q.needs_notification(m_mem)) m_irq->signal_used_queue();
}

}  // namespace minivmm::fs
