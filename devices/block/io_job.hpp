// IoJob: one disk operation (read, write, flush, discard, write-zeroes) as a sequence of host
// system-call steps, shared by both I/O engines (io_uring and the thread pool) so short transfers,
// multi-range DISCARD / WRITE_ZEROES and the write-zeroes fallback behave identically. The engine
// asks next() for a step, performs it (as an SQE or a blocking call) and feeds the raw result
// (bytes or -errno) back to complete_step(). Short reads and writes are resumed where they stopped;
// a step that makes no progress ends the job with EIO. It owns no file descriptor and does no
// I/O itself.
#pragma once

#include <sys/uio.h>

#include <atomic>
#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <optional>

namespace minivmm::block {

enum class IoOp : uint8_t { read, write, flush, discard, write_zeroes };

/// A byte range of the disk file.
struct ByteRange {
  uint64_t offset = 0;
  uint64_t len = 0;
};

/// What a caller asks an engine to do. iov entries point into guest RAM (built with
/// GuestMemory::slice) and must stay valid until the completion is reaped.
struct IoRequest {
  IoOp op = IoOp::read;
  uint64_t offset = 0;                                  ///< read / write: file byte offset
  boost::container::small_vector<iovec, 8> iov;         ///< read / write buffers
  boost::container::small_vector<ByteRange, 1> ranges;  ///< discard / write_zeroes
};

/// One host system call to perform.
struct IoStep {
  enum class Kind : uint8_t { readv, writev, fdatasync, fallocate };
  Kind kind = Kind::readv;
  uint64_t offset = 0;
  const iovec* iov = nullptr;
  unsigned iovcnt = 0;
  int mode = 0;  ///< fallocate mode
  uint64_t len = 0;
};

class IoJob {
 public:
  /// `zero_range_ok` is shared per disk: cleared the first time FALLOC_FL_ZERO_RANGE is refused,
  /// after which write-zeroes writes zero buffers directly.
  IoJob(uint64_t tag, IoRequest req, std::atomic<bool>* zero_range_ok) noexcept;

  /// The next step, or nullopt when the job is finished (see error()).
  std::optional<IoStep> next() noexcept;
  /// Feeds back the result of the step returned by the last next(): bytes (>= 0) or -errno.
  void complete_step(int64_t res) noexcept;

  uint64_t tag() const noexcept { return m_tag; }
  IoOp op() const noexcept { return m_req.op; }
  /// 0 on success, else the errno that ended the job.
  int error() const noexcept { return m_error; }

 private:
  std::optional<IoStep> next_range_step() noexcept;
  void advance_iov(uint64_t n) noexcept;
  void complete_range_step(int64_t res) noexcept;

  uint64_t m_tag;
  IoRequest m_req;
  std::atomic<bool>* m_zero_range_ok;
  int m_error = 0;
  bool m_done = false;
  unsigned m_retries = 0;
  size_t m_iov_first = 0;     ///< first unfinished iovec (read / write)
  size_t m_range = 0;         ///< current range (discard / write_zeroes)
  uint64_t m_range_done = 0;  ///< bytes of the current range already zero-written
  bool m_writing_zeroes = false;
  boost::container::small_vector<iovec, 16> m_zero_iov;
  IoStep::Kind m_last_kind = IoStep::Kind::readv;
};

}  // namespace minivmm::block
