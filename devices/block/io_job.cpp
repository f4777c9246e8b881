// IoJob's step machine. Read / write: readv / writev on the unfinished iovecs, resumed after short
// transfers, EIO after a zero-byte step, EINTR / EAGAIN retried a bounded number of times. Flush:
// one fdatasync. Discard: FALLOC_FL_PUNCH_HOLE | KEEP_SIZE per range; EOPNOTSUPP is success
// because discard is only a hint (virtio v1.2 5.2.6.2: the device MAY deallocate). Write-zeroes:
// FALLOC_FL_ZERO_RANGE | KEEP_SIZE per range, falling back to writing a static zero buffer
// (1 MiB per step) when the filesystem refuses ZERO_RANGE.
#include "devices/block/io_job.hpp"

#include <fcntl.h>
#include <linux/falloc.h>

#include <algorithm>
#include <cerrno>

namespace minivmm::block {
namespace {

constexpr unsigned kMaxRetries = 16;
constexpr size_t kZeroChunk = 64 * 1024;
constexpr size_t kZeroIovs = 16;
alignas(4096) const uint8_t g_zeroes[kZeroChunk] = {};

}  // namespace

IoJob::IoJob(uint64_t tag, IoRequest req, std::atomic<bool>* zero_range_ok) noexcept
    : m_tag(tag), m_req(std::move(req)), m_zero_range_ok(zero_range_ok) {}

std::optional<IoStep> IoJob::next() noexcept {
  if (m_done || m_error != 0) return std::nullopt;
  IoStep s;
  switch (m_req.op) {
    case IoOp::read:
    case IoOp::write:
      if (m_iov_first == m_req.iov.size()) return std::nullopt;
      s.kind = m_req.op == IoOp::read ? IoStep::Kind::readv : IoStep::Kind::writev;
      s.offset = m_req.offset;
      s.iov = m_req.iov.data() + m_iov_first;
      s.iovcnt = static_cast<unsigned>(std::min<size_t>(m_req.iov.size() - m_iov_first, IOV_MAX));
      break;
    case IoOp::flush:
      s.kind = IoStep::Kind::fdatasync;
      break;
    case IoOp::discard:
    case IoOp::write_zeroes:
      return next_range_step();
  }
  m_last_kind = s.kind;
  return s;
}

std::optional<IoStep> IoJob::next_range_step() noexcept {
  if (m_range == m_req.ranges.size()) return std::nullopt;
  const ByteRange& r = m_req.ranges[m_range];
  IoStep s;
  if (m_req.op == IoOp::discard) {
    s.kind = IoStep::Kind::fallocate;
    s.mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
    s.offset = r.offset;
    s.len = r.len;
  } else if (!m_writing_zeroes && m_zero_range_ok->load(std::memory_order_relaxed)) {
    s.kind = IoStep::Kind::fallocate;
    s.mode = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
    s.offset = r.offset;
    s.len = r.len;
  } else {
    m_writing_zeroes = true;
    uint64_t left = r.len - m_range_done;
    m_zero_iov.clear();
    while (left > 0 && m_zero_iov.size() < kZeroIovs) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(left, kZeroChunk));
      m_zero_iov.push_back({const_cast<uint8_t*>(g_zeroes), n});  // writev only reads it
      left -= n;
    }
    s.kind = IoStep::Kind::writev;
    s.offset = r.offset + m_range_done;
    s.iov = m_zero_iov.data();
    s.iovcnt = static_cast<unsigned>(m_zero_iov.size());
  }
  m_last_kind = s.kind;
  return s;
}

void IoJob::complete_step(int64_t res) noexcept {
  if ((res == -EINTR || res == -EAGAIN) && m_retries < kMaxRetries) {
    ++m_retries;
    return;  // the same step is offered again
  }
  m_retries = 0;
  switch (m_req.op) {
    case IoOp::read:
    case IoOp::write:
      if (res < 0) {
        m_error = static_cast<int>(-res);
      } else if (res == 0) {
        m_error = EIO;  // no progress: EOF on a truncated file or a device that stopped
      } else {
        advance_iov(static_cast<uint64_t>(res));
      }
      return;
    case IoOp::flush:
      if (res < 0) m_error = static_cast<int>(-res);
      m_done = true;
      return;
    case IoOp::discard:
    case IoOp::write_zeroes:
      complete_range_step(res);
      return;
  }
}

void IoJob::complete_range_step(int64_t res) noexcept {
  const ByteRange& r = m_req.ranges[m_range];
  if (m_last_kind == IoStep::Kind::fallocate) {
    if (res == -EOPNOTSUPP && m_req.op == IoOp::discard) res = 0;  // a hint; nothing to do
    if (res == -EOPNOTSUPP && m_req.op == IoOp::write_zeroes) {
      m_zero_range_ok->store(false, std::memory_order_relaxed);
      m_writing_zeroes = true;  // redo this range with plain writes
      return;
    }
    if (res < 0) {
      m_error = static_cast<int>(-res);
      return;
    }
    ++m_range;
    return;
  }
  if (res < 0) {
    m_error = static_cast<int>(-res);
  } else if (res == 0) {
    m_error = EIO;
  } else {
    m_range_done += static_cast<uint64_t>(res);
    if (m_range_done >= r.len) {
      ++m_range;
      m_range_done = 0;
      m_writing_zeroes = false;
    }
  }
}

void IoJob::advance_iov(uint64_t n) noexcept {
  m_req.offset += n;
  while (n > 0 && m_iov_first < m_req.iov.size()) {
    iovec& v = m_req.iov[m_iov_first];
    if (n >= v.iov_len) {
      n -= v.iov_len;
      ++m_iov_first;
    } else {
      v.iov_base = static_cast<uint8_t*>(v.iov_base) + n;
      v.iov_len -= n;
      n = 0;
    }
  }
  // Skip empty trailing entries so next() reports completion.
  while (m_iov_first < m_req.iov.size() && m_req.iov[m_iov_first].iov_len == 0) ++m_iov_first;
}

}  // namespace minivmm::block
