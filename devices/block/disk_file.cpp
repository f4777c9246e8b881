// DiskFile: opening and sizing a raw image, choosing the I/O engine, and the durability latch
// applied to completions. Capacity comes from fstat for regular files and BLKGETSIZE64 for block
// devices; anything else (directories, FIFOs, character devices) is refused.
#include "devices/block/disk_file.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include "devices/block/block_request.hpp"

namespace minivmm::block {
namespace {

Result<uint64_t> image_size(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return errno_error("fstat {}", path);
  if (S_ISREG(st.st_mode)) return static_cast<uint64_t>(st.st_size);
  if (S_ISBLK(st.st_mode)) {
    uint64_t size = 0;
    if (::ioctl(fd, BLKGETSIZE64, &size) != 0) return errno_error("BLKGETSIZE64 {}", path);
    return size;
  }
  return make_error(ErrorCode::invalid_image, "disk image {}: not a regular file or block device",
                    path);
}

Result<std::unique_ptr<IoEngine>> make_engine(int fd, const DiskOptions& o,
                                              std::atomic<bool>* zero_range_ok) {
  if (o.backend == IoBackend::thread_pool) {
    return make_thread_pool_engine(fd, o.depth, o.pool_workers, zero_range_ok);
  }
  auto uring = make_uring_engine(fd, o.depth, zero_range_ok);
  if (uring || o.backend == IoBackend::io_uring) return uring;
  // automatic: io_uring refused (seccomp, old kernel, io_uring_disabled): use worker threads.
  return make_thread_pool_engine(fd, o.depth, o.pool_workers, zero_range_ok);
}

Result<void> check_options(const DiskOptions& o) {
  if (o.depth == 0 || o.pool_workers == 0) {
    return make_error(ErrorCode::invalid_config, "disk: depth={} pool_workers={} must be > 0",
                      o.depth, o.pool_workers);
  }
  if (o.serial.size() > kIdBytes) {
    return make_error(ErrorCode::invalid_config, "disk serial '{}' longer than {} bytes", o.serial,
                      kIdBytes);
  }
  return {};
}

}  // namespace

DiskFile::~DiskFile() = default;

std::string DiskFile::default_serial(const std::string& path) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a 64
  for (unsigned char c : path) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return fmt::format("mvmm-{:015x}", h & 0xfffffffffffffffULL);
}

Result<DiskFile> DiskFile::open(const std::string& path, const DiskOptions& options) {
  MINIVMM_TRY_VOID(check_options(options));
  const bool ro = options.access == DiskAccess::read_only;
  int fd = ::open(path.c_str(), (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  if (fd < 0) return errno_error("open disk image {} ({})", path, ro ? "read-only" : "read-write");
  DiskFile d;
  d.m_fd.reset(fd);
  d.m_read_only = ro;
  d.m_depth = options.depth;
  MINIVMM_TRY(size, image_size(fd, path));
  if (size % kSectorSize != 0) {
    return make_error(ErrorCode::invalid_image,
                      "disk image {}: size {} is not a multiple of {} bytes", path, size,
                      kSectorSize);
  }
  d.m_capacity_sectors = size / kSectorSize;
  std::string serial = options.serial.empty() ? default_serial(path) : options.serial;
  std::copy_n(serial.begin(), std::min<size_t>(serial.size(), kIdBytes), d.m_serial.begin());
  d.m_zero_range_ok = std::make_unique<std::atomic<bool>>(true);
  auto engine = make_engine(fd, options, d.m_zero_range_ok.get());
  if (!engine) return tl::unexpected(with_context(engine.error(), "disk image " + path));
  d.m_engine = std::move(*engine);
  return d;
}

bool DiskFile::submit(uint64_t tag, IoRequest req) {
  return m_engine->submit(tag, std::move(req));
}

void DiskFile::apply_latch(IoCompletion& c) noexcept {
  switch (c.op) {
    case IoOp::read:
      return;  // a failed read loses nothing
    case IoOp::write:
    case IoOp::discard:
    case IoOp::write_zeroes:
      if (c.error != 0) m_error_latched = true;
      return;
    case IoOp::flush:
      if (c.error != 0) m_error_latched = true;
      if (m_error_latched) c.error = c.error != 0 ? c.error : EIO;
      return;
  }
}

void DiskFile::reap(std::vector<IoCompletion>& out) {
  size_t first = out.size();
  m_engine->reap(out);
  for (size_t i = first; i < out.size(); ++i) apply_latch(out[i]);
}

void DiskFile::drain(std::vector<IoCompletion>& out) {
  size_t first = out.size();
  m_engine->drain(out);
  for (size_t i = first; i < out.size(); ++i) apply_latch(out[i]);
}

}  // namespace minivmm::block
