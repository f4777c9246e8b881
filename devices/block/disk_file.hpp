// DiskFile: the virtio-blk backend, one raw disk image (a regular file or a block device) driven
// asynchronously through an IoEngine (io_uring, or a bounded thread pool when io_uring cannot be
// set up). It owns the file descriptor, the capacity, the device serial, and the durability
// latch that decides whether a FLUSH may report success. It deliberately knows nothing of virtio
// requests or guest memory: callers hand it host iovecs (which may point into guest RAM) and tags,
// and get (tag, errno) completions back.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "devices/block/io_engine.hpp"
#include "vmm/sys/error.hpp"
#include "vmm/sys/unique_fd.hpp"

namespace minivmm::block {

enum class DiskAccess { read_write, read_only };
enum class IoBackend { automatic, io_uring, thread_pool };

struct DiskOptions {
  DiskAccess access = DiskAccess::read_write;
  /// automatic: io_uring, falling back to the thread pool when io_uring_queue_init fails.
  IoBackend backend = IoBackend::automatic;
  unsigned depth = 256;       ///< jobs in flight at most (use the virtqueue size)
  unsigned pool_workers = 4;  ///< thread-pool backend only
  /// Up to 20 bytes returned by GET_ID; empty: derived from the path (see default_serial()).
  std::string serial;
};

class DiskFile {
 public:
  /// Opens `path` (O_CLOEXEC, O_RDONLY for read_only else O_RDWR) and starts the I/O engine.
  /// Errors: open/fstat failures; invalid_image when the file is neither a regular file nor a
  /// block device, or its size is not a multiple of 512 bytes (a trailing partial sector is
  /// refused rather than silently hidden); invalid_config for depth 0, 0 workers or a serial
  /// longer than 20 bytes; engine setup failures (for IoBackend::io_uring only).
  static Result<DiskFile> open(const std::string& path, const DiskOptions& options);

  DiskFile(DiskFile&&) noexcept = default;
  DiskFile& operator=(DiskFile&&) noexcept = default;
  ~DiskFile();

  uint64_t capacity_sectors() const noexcept { return m_capacity_sectors; }
  bool read_only() const noexcept { return m_read_only; }
  /// The GET_ID bytes: the serial, NUL padded to 20 bytes.
  const std::array<uint8_t, 20>& serial() const noexcept { return m_serial; }
  const char* backend_name() const noexcept { return m_engine->name(); }
  /// Readable when completions are ready; call reap().
  int completion_fd() const noexcept { return m_engine->event_fd(); }
  size_t in_flight() const noexcept { return m_engine->in_flight(); }
  /// Jobs that may be in flight at once (DiskOptions::depth).
  unsigned depth() const noexcept { return m_depth; }

  /// Starts one job; false when `depth` jobs are in flight. On a read-only disk the descriptor
  /// is O_RDONLY, so a write that slipped past the request parser completes with EBADF.
  bool submit(uint64_t tag, IoRequest req);
  /// Appends finished jobs to `out` after applying the durability latch (see below).
  void reap(std::vector<IoCompletion>& out);
  /// Blocks until nothing is in flight; completions are appended to `out` (device reset).
  void drain(std::vector<IoCompletion>& out);

  /// Durability latch (fsyncgate): once a write, discard, write-zeroes or fdatasync has failed,
  /// every later FLUSH completes with EIO, even if its own fdatasync succeeds, because the kernel
  /// may have dropped the dirty pages and a later fdatasync would not see them. Only a device
  /// reset clears it (clear_error_latch()), after the driver has been told about the errors.
  bool error_latched() const noexcept { return m_error_latched; }
  void clear_error_latch() noexcept { m_error_latched = false; }

  /// "mvmm-" + 15 hex digits of an FNV-1a hash of the path: 20 bytes, stable per path.
  static std::string default_serial(const std::string& path);

 private:
  DiskFile() = default;
  void apply_latch(IoCompletion& c) noexcept;

  UniqueFd m_fd;
  uint64_t m_capacity_sectors = 0;
  bool m_read_only = false;
  unsigned m_depth = 0;
  bool m_error_latched = false;
  std::array<uint8_t, 20> m_serial{};
  std::unique_ptr<std::atomic<bool>> m_zero_range_ok;  ///< stable address shared with jobs
  std::unique_ptr<IoEngine> m_engine;  ///< declared last: destroyed (drained) before m_fd closes
};

}  // namespace minivmm::block
