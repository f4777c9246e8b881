// BlockDevice::Running: one activation of a virtio-blk device, private to devices/block. It lives
// on the machine's event loop: the queue, the disk engine, the kick and completion waits and a
// pending backing-file swap, all under `mu`. Shared by block_device.cpp (queue processing,
// activation, reset) and block_swap.cpp (replace_disk).
#pragma once

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "devices/block/block_device.hpp"

namespace minivmm::block {

struct BlockDevice::Running : std::enable_shared_from_this<Running> {
  Running(BlockDevice& dev, virtio::Activation& a, DiskFile& disk, const BlockLimits& lim,
          uint32_t budget_)
      : owner(dev),
        mem(a.memory),
        io(a.io),
        queue(std::move(a.queues.front())),
        irq(std::move(a.interrupt)),
        kick_event(a.queue_events.front()),
        kick(a.io),
        done(a.io),
        limits(lim),
        budget(budget_),
        engine(
            a.memory, disk, std::min<uint32_t>(queue.size(), disk.depth()),
            [this](uint16_t head, uint32_t len) { used_added |= queue.add_used(mem, head, len); }) {
  }

  void arm_kick();
  void arm_done();
  void process_queue();
  void notify_if_needed();
  void report_host_errors(uint64_t before);
  void start_swap(DiskFile disk, std::string path, SwapDone on_done);
  /// Swaps the pending disk in once nothing is in flight; true when it did (done re-armed).
  bool try_finish_swap();
  /// Installs the pending disk in the device (mu held, nothing in flight); returns `done`.
  SwapDone install_pending();

  BlockDevice& owner;  ///< valid while !stopped (reset() runs before the device dies)
  RateLimiter error_report{2};
  std::mutex mu;
  bool stopped = false;
  bool throttled = false;  ///< the engine was full: resume popping on the next completion
  bool used_added = false;
  const GuestMemory& mem;
  boost::asio::io_context& io;
  virtio::SplitQueue queue;
  std::shared_ptr<virtio::VirtioInterrupt> irq;
  const EventFd& kick_event;  ///< owned by the transport, valid until reset() returns
  boost::asio::posix::stream_descriptor kick;  ///< a dup of kick_event
  boost::asio::posix::stream_descriptor done;  ///< a dup of the disk's completion eventfd
  BlockLimits limits;
  uint32_t budget;
  BlockEngine engine;
  // A replace_disk() waiting for the requests in flight on the old file.
  std::optional<DiskFile> pending_disk;
  std::string pending_path;
  SwapDone pending_done;
};

}  // namespace minivmm::block
