// BlockDevice's backing-file changes: replace_disk() while the guest runs and set_disk() before the
// driver starts. A swap stops taking new chains, lets the requests in flight on the old file
// finish (try_finish_swap runs after every completion batch), installs the new file, re-reads the
// capacity and raises a configuration-change interrupt so the guest sees the new size; the chains
// that waited in the avail ring then go to the new file.
#include <fcntl.h>

#include <boost/asio/post.hpp>

#include "devices/block/block_device.hpp"
#include "devices/block/block_running.hpp"

namespace minivmm::block {

namespace asio = boost::asio;

void BlockDevice::Running::start_swap(DiskFile disk, std::string path, SwapDone on_done) {
  pending_disk.emplace(std::move(disk));
  pending_path = std::move(path);
  pending_done = std::move(on_done);
  try_finish_swap();
}

BlockDevice::SwapDone BlockDevice::Running::install_pending() {
  {
    std::lock_guard lock(owner.m_mutex);
    owner.install_disk(std::move(*pending_disk), std::move(pending_path));
    limits.capacity_sectors = owner.m_disk.capacity_sectors();
  }
  pending_disk.reset();
  return std::move(pending_done);
}

bool BlockDevice::Running::try_finish_swap() {
  if (!pending_disk || engine.in_flight() != 0) return false;
  // `done` watches the old file's completion eventfd: closing it aborts that wait (its handler
  // returns without re-arming); watch the new file's instead.
  boost::system::error_code ignored;
  done.close(ignored);
  SwapDone finished = install_pending();
  int done_fd = ::fcntl(owner.m_disk.completion_fd(), F_DUPFD_CLOEXEC, 0);
  if (done_fd >= 0) {
    done.assign(done_fd, ignored);
    arm_done();
  } else {
    // Without a completion watch no request could finish: the device is unusable.
    irq->signal_needs_reset();
  }
  irq->signal_config_change();
  // The chains that waited in the avail ring during the swap.
  asio::post(io, [self = shared_from_this(), finished = std::move(finished)] {
    {
      std::lock_guard lock(self->mu);
      if (!self->stopped) self->process_queue();
    }
    if (finished) finished(true);
  });
  return true;
}

void BlockDevice::install_disk(DiskFile disk, std::string path) {
  m_disk = std::move(disk);
  m_config.capacity = m_disk.capacity_sectors();
  m_path = std::move(path);
  ++m_swaps;
}

void BlockDevice::replace_disk(DiskFile disk, std::string path, SwapDone done) {
  std::shared_ptr<Running> r;
  {
    std::lock_guard lock(m_mutex);
    if (!m_running) {
      install_disk(std::move(disk), std::move(path));
    } else {
      r = m_running;
    }
  }
  if (!r) {
    if (done) done(true);
    return;
  }
  // The swap itself runs on the event loop, like every other touch of the running queue.
  asio::post(r->io,
             [r, disk = std::move(disk), path = std::move(path), done = std::move(done)]() mutable {
               std::unique_lock lock(r->mu);
               if (r->stopped) {
                 // reset() already ran: the device is inactive, swap directly.
                 lock.unlock();
                 r->owner.replace_disk(std::move(disk), std::move(path), std::move(done));
                 return;
               }
               if (r->pending_disk) {  // a swap is already waiting: the newer file replaces it
                 SwapDone dropped = std::move(r->pending_done);
                 r->pending_disk.reset();
                 if (dropped) {
                   lock.unlock();
                   dropped(false);
                   lock.lock();
                   if (r->stopped) return;
                 }
               }
               r->start_swap(std::move(disk), std::move(path), std::move(done));
             });
}

Result<void> BlockDevice::set_disk(DiskFile disk, std::string path) {
  std::lock_guard lock(m_mutex);
  if (m_running || m_ever_activated)
    return make_error(ErrorCode::invalid_state,
                      "virtio-blk: the read-only flag can only change before the driver starts");
  m_disk = std::move(disk);
  m_config.capacity = m_disk.capacity_sectors();
  m_path = std::move(path);
  set_features_for_disk();
  return {};
}

}  // namespace minivmm::block
