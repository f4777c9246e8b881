// BlockDevice: features, configuration space and the event-loop side of the request queue. All
// queue work runs on the machine's event loop under Running::mu; reset() (a vCPU thread) takes the
// same mutex, marks the activation stopped, closes the loop's descriptors and waits for the disk,
// so once it returns no handler touches guest memory or the used ring. Handlers hold a
// shared_ptr to Running, so an aborted wait that runs later still finds valid memory. Backing-file
// swaps (replace_disk, set_disk) are in block_swap.cpp.
#include "devices/block/block_device.hpp"

#include "devices/block/block_running.hpp"
#include "devices/virtio/ring_abi.hpp"

#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <cstring>
#include <optional>

namespace minivmm::block {

namespace asio = boost::asio;

void BlockDevice::Running::arm_kick() {
  kick.async_wait(asio::posix::descriptor_base::wait_read,
                  [self = shared_from_this()](const boost::system::error_code& ec) {
                    std::lock_guard lock(self->mu);
                    if (self->stopped || ec) return;
                    self->kick_event.consume();
                    self->process_queue();
                    self->arm_kick();
                  });
}

void BlockDevice::Running::arm_done() {
  done.async_wait(asio::posix::descriptor_base::wait_read,
                  [self = shared_from_this()](const boost::system::error_code& ec) {
                    std::lock_guard lock(self->mu);
                    if (self->stopped || ec) return;
                    const uint64_t host_errors = self->engine.counters().host_errors;
                    self->engine.process_completions();
                    self->notify_if_needed();
                    self->report_host_errors(host_errors);
                    if (self->try_finish_swap()) return;  // re-armed on the new file
                    if (self->throttled) {
                      self->throttled = false;
                      self->process_queue();
                    }
                    self->arm_done();
                  });
}

void BlockDevice::Running::report_host_errors(uint64_t before) {
  const uint64_t now = engine.counters().host_errors;
  if (now == before || !owner.m_options.on_error || !error_report.allow()) return;
  owner.m_options.on_error(
      fmt::format("{} host I/O error(s) on {}; the guest got IOERR", now - before, owner.path()));
}

void BlockDevice::Running::notify_if_needed() {
  if (!used_added) return;
  used_added = false;
  if (queue.needs_notification(mem)) irq->signal_used_queue();
}

// Pops at most `budget` chains, then yields to the loop; stops early when the engine is full
// (the rest waits in the avail ring until a completion frees a slot).
void BlockDevice::Running::process_queue() {
  // During a swap new chains wait in the avail ring for the new file.
  if (!queue.active() || queue.broken() || pending_disk) return;
  queue.disable_notification(mem);
  for (uint32_t n = 0;; ++n) {
    if (!engine.has_room()) {
      throttled = true;
      break;
    }
    if (n == budget) {
      asio::post(io, [self = shared_from_this()] {
        std::lock_guard lock(self->mu);
        if (!self->stopped) self->process_queue();
      });
      break;
    }
    virtio::PopResult r = queue.pop(mem);
    if (r.status == virtio::PopStatus::empty) {
      if (queue.enable_notification(mem)) continue;  // raced with the driver: pop again
      break;
    }
    if (r.status == virtio::PopStatus::broken) {
      irq->signal_needs_reset();
      break;
    }
    // Guest-controlled: a malformed chain is returned with used length 0 when pop() names a head.
    if (r.status == virtio::PopStatus::malformed) {
      if (r.has_head_to_complete) used_added |= queue.add_used(mem, r.head_to_complete, 0);
      continue;
    }
    engine.handle(r.chain, limits);
  }
  notify_if_needed();
}

BlockDevice::BlockDevice(DiskFile disk, const BlockDeviceOptions& o)
    : m_disk(std::move(disk)), m_options(o) {
  set_features_for_disk();
  m_config.capacity = m_disk.capacity_sectors();
  m_config.seg_max = o.queue_size - 2u;  // Linux adds header and status descriptors
  m_config.blk_size = kSectorSize;
  m_config.min_io_size = 1;
  m_config.num_queues = 1;
  m_config.max_discard_sectors = o.max_discard_sectors;
  m_config.max_discard_seg = o.max_discard_seg;
  m_config.discard_sector_alignment = o.discard_sector_alignment;
  m_config.max_write_zeroes_sectors = o.max_write_zeroes_sectors;
  m_config.max_write_zeroes_seg = o.max_write_zeroes_seg;
  m_queue_max[0] = o.queue_size;
}

void BlockDevice::set_features_for_disk() {
  const bool ro = m_disk.read_only();
  m_features = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |
               (1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << VIRTIO_BLK_F_SEG_MAX) |
               (1ULL << VIRTIO_BLK_F_BLK_SIZE) | (1ULL << VIRTIO_BLK_F_FLUSH) |
               (1ULL << VIRTIO_BLK_F_TOPOLOGY);
  if (ro) m_features |= 1ULL << VIRTIO_BLK_F_RO;
  if (!ro) m_features |= (1ULL << VIRTIO_BLK_F_DISCARD) | (1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
}

Result<std::shared_ptr<BlockDevice>> BlockDevice::create(DiskFile disk,
                                                         const BlockDeviceOptions& o) {
  const uint32_t q = o.queue_size;
  if (q <= 2 || (q & (q - 1)) != 0 || q > virtio::kMaxQueueSize || o.max_discard_seg == 0 ||
      o.max_write_zeroes_seg == 0 || o.chains_per_wakeup == 0) {
    return make_error(ErrorCode::invalid_config,
                      "virtio-blk: queue_size={} max_discard_seg={} max_write_zeroes_seg={} "
                      "chains_per_wakeup={}",
                      q, o.max_discard_seg, o.max_write_zeroes_seg, o.chains_per_wakeup);
  }
  return std::shared_ptr<BlockDevice>(new BlockDevice(std::move(disk), o));
}

BlockDevice::~BlockDevice() {
  reset();
}

uint32_t BlockDevice::device_type() const {
  return VIRTIO_ID_BLOCK;
}

BlockConfigSpace BlockDevice::config() const {
  std::lock_guard lock(m_mutex);
  return m_config;
}

void BlockDevice::read_config(uint64_t offset, std::span<uint8_t> data) const {
  std::lock_guard lock(m_mutex);
  std::fill(data.begin(), data.end(), uint8_t{0});
  const auto* bytes = reinterpret_cast<const uint8_t*>(&m_config);
  constexpr uint64_t size = kBlockConfigSize;
  if (offset >= size) return;
  size_t n = static_cast<size_t>(std::min<uint64_t>(data.size(), size - offset));
  std::memcpy(data.data(), bytes + offset, n);
}

void BlockDevice::write_config(uint64_t, std::span<const uint8_t>) {}

BlockLimits BlockDevice::limits(uint64_t acked) const noexcept {
  BlockLimits l;
  l.capacity_sectors = m_disk.capacity_sectors();
  l.read_only = m_disk.read_only();
  l.discard = (acked & (1ULL << VIRTIO_BLK_F_DISCARD)) != 0;
  l.write_zeroes = (acked & (1ULL << VIRTIO_BLK_F_WRITE_ZEROES)) != 0;
  l.max_discard_sectors = m_config.max_discard_sectors;
  l.max_discard_seg = m_config.max_discard_seg;
  l.max_write_zeroes_sectors = m_config.max_write_zeroes_sectors;
  l.max_write_zeroes_seg = m_config.max_write_zeroes_seg;
  return l;
}

Result<void> BlockDevice::activate(virtio::Activation a) {
  std::lock_guard lock(m_mutex);
  if (m_running || a.queues.size() != 1 || a.queue_events.size() != 1 || !a.interrupt) {
    return make_error(ErrorCode::invalid_state,
                      "virtio-blk activate: already active or bad queues");
  }
  int kick_fd = ::fcntl(a.queue_events.front().fd(), F_DUPFD_CLOEXEC, 0);
  if (kick_fd < 0) return errno_error("virtio-blk: dup queue eventfd");
  int done_fd = ::fcntl(m_disk.completion_fd(), F_DUPFD_CLOEXEC, 0);
  if (done_fd < 0) {
    ::close(kick_fd);
    return errno_error("virtio-blk: dup disk completion eventfd");
  }
  auto r = std::make_shared<Running>(*this, a, m_disk, limits(a.acked_features),
                                     m_options.chains_per_wakeup);
  m_ever_activated = true;
  r->kick.assign(kick_fd);
  r->done.assign(done_fd);
  m_disk.clear_error_latch();  // a new driver instance; the previous one saw every error
  {
    std::lock_guard rl(r->mu);
    r->arm_kick();
    r->arm_done();
  }
  // Requests the driver queued before DRIVER_OK was seen are picked up without a new kick.
  asio::post(r->io, [r] {
    std::lock_guard rl(r->mu);
    if (!r->stopped) r->process_queue();
  });
  m_running = std::move(r);
  return {};
}

void BlockDevice::reset() {
  std::shared_ptr<Running> r;
  {
    std::lock_guard lock(m_mutex);
    r = std::move(m_running);
  }
  if (!r) return;
  BlockCounters last;
  SwapDone swapped;
  {
    std::lock_guard rl(r->mu);
    r->stopped = true;
    boost::system::error_code ignored;
    r->kick.close(ignored);
    r->done.close(ignored);
    r->engine.reset();  // waits for in-flight disk I/O: guest buffers are untouched afterwards
    last = r->engine.counters();
    // A swap waiting for in-flight requests completes now that none are left.
    if (r->pending_disk) swapped = r->install_pending();
  }
  {
    std::lock_guard lock(m_mutex);
    m_earlier_counters += last;
  }
  if (swapped) swapped(true);
}

std::string BlockDevice::path() const {
  std::lock_guard lock(m_mutex);
  return m_path;
}

void BlockDevice::set_path(std::string path) {
  std::lock_guard lock(m_mutex);
  m_path = std::move(path);
}

bool BlockDevice::read_only() const {
  std::lock_guard lock(m_mutex);
  return m_disk.read_only();
}

uint64_t BlockDevice::capacity_sectors() const {
  std::lock_guard lock(m_mutex);
  return m_disk.capacity_sectors();
}

uint64_t BlockDevice::backing_swaps() const {
  std::lock_guard lock(m_mutex);
  return m_swaps;
}

void BlockDevice::notify(uint16_t queue_index) {
  std::lock_guard lock(m_mutex);
  if (m_running && queue_index == 0) m_running->kick_event.signal();
}

BlockCounters BlockDevice::counters() const {
  std::shared_ptr<Running> r;
  BlockCounters total;
  {
    std::lock_guard lock(m_mutex);
    if (!m_running) return m_earlier_counters;
    r = m_running;
    total = m_earlier_counters;
  }
  std::lock_guard rl(r->mu);
  total += r->engine.counters();
  return total;
}

}  // namespace minivmm::block
