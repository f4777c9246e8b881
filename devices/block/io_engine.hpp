// IoEngine: asynchronous execution of IoJobs against one file descriptor, with completions
// announced on an eventfd so the event loop can wait on it. Two implementations share this
// interface: io_uring (uring_engine.cpp, preferred) and a bounded pool of worker threads doing
// blocking calls (thread_pool_engine.cpp) for hosts where io_uring_queue_init fails (seccomp,
// old kernels, io_uring_disabled). Both accept at most `depth` jobs in flight, so memory stays
// bounded by the queue size. This file does not know about virtio, guest memory or durability
// policy (disk_file.hpp owns that).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "devices/block/io_job.hpp"
#include "vmm/sys/error.hpp"

namespace minivmm::block {

/// A finished job.
struct IoCompletion {
  uint64_t tag = 0;
  IoOp op = IoOp::read;
  int error = 0;  ///< 0 on success, else errno
};

class IoEngine {
 public:
  virtual ~IoEngine() = default;
  /// Readable (EFD_NONBLOCK eventfd) whenever completions may be ready; reap() clears it.
  virtual int event_fd() const noexcept = 0;
  /// Starts a job. false, and nothing started, when `depth` jobs are already in flight.
  virtual bool submit(uint64_t tag, IoRequest req) = 0;
  /// Appends every finished job to `out` without blocking.
  virtual void reap(std::vector<IoCompletion>& out) = 0;
  /// Blocks until no job is in flight, appending their completions to `out` (device reset).
  virtual void drain(std::vector<IoCompletion>& out) = 0;
  virtual size_t in_flight() const noexcept = 0;
  virtual const char* name() const noexcept = 0;
};

/// io_uring with `depth` entries and a registered eventfd.
/// Errors: io_uring_queue_init / io_uring_register_eventfd / eventfd failures.
Result<std::unique_ptr<IoEngine>> make_uring_engine(int fd, unsigned depth,
                                                    std::atomic<bool>* zero_range_ok);

/// `workers` threads sharing a queue of at most `depth` jobs. Errors: eventfd failure.
Result<std::unique_ptr<IoEngine>> make_thread_pool_engine(int fd, unsigned depth, unsigned workers,
                                                          std::atomic<bool>* zero_range_ok);

}  // namespace minivmm::block
