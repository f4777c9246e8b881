// FsTakeover: the virtio-fs queues served by the VMM itself after the vhost-user backend is lost
// (virtiofsd exited, was killed, or stopped answering), so the guest sees errors instead of
// hanging. At start() every active queue resumes from the used.idx found in guest memory (the
// backend's last completion; requests it took but never completed are assumed to follow it in
// avail order, as QEMU assumes for backends without inflight tracking), pending requests are
// answered at once, and each queue's kick eventfd is watched on the event loop; every request gets
// a FUSE error reply (fuse_error_reply.hpp) and a used-buffer interrupt when needed. A corrupt
// ring sets DEVICE_NEEDS_RESET. It does not talk to the backend or decide when to take over
// (FsDevice does); it must only start once the backend no longer touches the rings.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "devices/virtio/split_queue.hpp"
#include "devices/virtio/virtio_interrupt.hpp"
#include "vmm/memory/guest_memory.hpp"
#include "vmm/sys/error.hpp"
#include "vmm/sys/event_fd.hpp"

namespace minivmm::fs {

struct TakeoverCounters {
  uint64_t requests_failed = 0;  ///< requests answered with the FUSE error
  uint64_t malformed = 0;        ///< chains returned with used length 0
  uint64_t no_reply = 0;         ///< FORGETs returned with used length 0
};

class FsTakeover : public std::enable_shared_from_this<FsTakeover> {
 public:
  /// `queues` and `kicks` are index-aligned (inactive queues are skipped); `memory`, `kicks` and
  /// `io` must stay valid until stop() returns. `errno_value` is the positive errno replied
  /// (ENOTCONN by default). `chains_per_wakeup` bounds the work of one handler run.
  FsTakeover(const GuestMemory& memory, std::vector<virtio::SplitQueue> queues,
             std::span<const EventFd> kicks, std::shared_ptr<virtio::VirtioInterrupt> interrupt,
             boost::asio::io_context& io, int errno_value, uint32_t chains_per_wakeup = 256);

  /// Resumes every active queue from its used.idx, watches its kick eventfd (a dup) and answers
  /// what is already pending. Call once, on the event-loop thread. Errors: dup() failures
  /// (the takeover then serves no queue).
  Result<void> start();
  /// Stops serving: closes the watchers; once it returns no handler touches guest memory or the
  /// used rings. Any thread; idempotent.
  void stop();
  TakeoverCounters counters() const;

 private:
  struct Queue {
    virtio::SplitQueue ring;
    const EventFd* kick = nullptr;
    std::unique_ptr<boost::asio::posix::stream_descriptor> watch;
  };
  void arm(size_t index);
  void process(size_t index);

  mutable std::mutex m_mu;
  bool m_stopped = false;
  const GuestMemory& m_mem;
  std::vector<Queue> m_queues;
  std::shared_ptr<virtio::VirtioInterrupt> m_irq;
  boost::asio::io_context& m_io;
  int m_errno;
  uint32_t m_budget;
  TakeoverCounters m_counters;
};

}  // namespace minivmm::fs
