// Unit tests of DiskFile and both I/O engines on real files in /tmp: image validation, capacity
// and serial, data round trips, short-free vectored I/O, discard (hole punching, checked with
// st_blocks), write-zeroes (ZERO_RANGE and the plain-write fallback on tmpfs), the depth bound,
// drain, the read-only descriptor, ENOSPC on a 1 MiB tmpfs (skipped when mounting is not
// permitted) and the FLUSH durability latch. Every behaviour runs on io_uring and on the thread
// pool. EIO from the disk cannot be provoked without a faulty block device (dm-error / dm-flakey
// need device-mapper); /dev/full is a character device, which open() refuses by design.
#include "devices/block/disk_file.hpp"

#include <poll.h>
#include <sys/stat.h>

#include <cerrno>
#include <numeric>

#include <doctest/doctest.h>

#include "block_test_support.hpp"

namespace minivmm::block {
namespace {

TEST_SUITE_BEGIN("block/disk_file");

using test::TempImage;
constexpr IoBackend kBackends[] = {IoBackend::io_uring, IoBackend::thread_pool};

DiskFile open_disk(const std::string& path, IoBackend backend,
                   DiskAccess access = DiskAccess::read_write, unsigned depth = 256) {
  DiskOptions o;
  o.backend = backend;
  o.access = access;
  o.depth = depth;
  auto d = DiskFile::open(path, o);
  REQUIRE_MESSAGE(d.has_value(), (d ? std::string() : d.error().message()));
  return std::move(*d);
}

/// Waits (poll on the completion eventfd) until `n` completions were reaped.
std::vector<IoCompletion> wait_for(DiskFile& d, size_t n) {
  std::vector<IoCompletion> out;
  while (out.size() < n) {
    pollfd p{d.completion_fd(), POLLIN, 0};
    REQUIRE(::poll(&p, 1, 10000) == 1);
    d.reap(out);
  }
  return out;
}

int run_one(DiskFile& d, IoRequest req) {
  REQUIRE(d.submit(1, std::move(req)));
  auto c = wait_for(d, 1);
  REQUIRE(c.size() == 1);
  CHECK(c[0].tag == 1);
  return c[0].error;
}

IoRequest rw(IoOp op, uint64_t offset, std::vector<uint8_t>& buf) {
  IoRequest r;
  r.op = op;
  r.offset = offset;
  r.iov.push_back({buf.data(), buf.size()});
  return r;
}

IoRequest ranges(IoOp op, uint64_t offset, uint64_t len) {
  IoRequest r;
  r.op = op;
  r.ranges.push_back({offset, len});
  return r;
}

IoRequest flush() {
  IoRequest r;
  r.op = IoOp::flush;
  return r;
}

TEST_CASE("open reports capacity in sectors and the backend in use") {
  TempImage img(1 << 20);
  for (auto b : kBackends) {
    auto d = open_disk(img.path, b);
    CHECK(d.capacity_sectors() == 2048);
    CHECK_FALSE(d.read_only());
    CHECK(std::string(d.backend_name()) == (b == IoBackend::io_uring ? "io_uring" : "thread-pool"));
  }
}

TEST_CASE("open refuses an image whose size is not a multiple of 512") {
  TempImage img(1000);
  auto d = DiskFile::open(img.path, {});
  REQUIRE_FALSE(d.has_value());
  CHECK(d.error().code() == make_error_code(ErrorCode::invalid_image));
}

TEST_CASE("open refuses directories") {
  CHECK_FALSE(DiskFile::open("/tmp", {}).has_value());  // EISDIR read-write
  DiskOptions o;
  o.access = DiskAccess::read_only;
  auto d = DiskFile::open("/tmp", o);
  REQUIRE_FALSE(d.has_value());
  CHECK(d.error().code() == make_error_code(ErrorCode::invalid_image));
}

TEST_CASE("open refuses character devices such as /dev/null and /dev/full") {
  for (const char* path : {"/dev/null", "/dev/full"}) {
    auto d = DiskFile::open(path, {});
    REQUIRE_FALSE(d.has_value());
    CHECK(d.error().code() == make_error_code(ErrorCode::invalid_image));
  }
}

TEST_CASE("open of a missing file fails with ENOENT") {
  auto d = DiskFile::open("/nonexistent/minivmm.img", {});
  REQUIRE_FALSE(d.has_value());
  CHECK(d.error().code() == std::error_code(ENOENT, std::system_category()));
}

TEST_CASE("the default serial is 20 bytes, stable per path and distinct across paths") {
  auto a = DiskFile::default_serial("/images/a.img");
  CHECK(a.size() == 20);
  CHECK(a == DiskFile::default_serial("/images/a.img"));
  CHECK(a != DiskFile::default_serial("/images/b.img"));
  TempImage img(4096);
  auto d = open_disk(img.path, IoBackend::thread_pool);
  auto s = DiskFile::default_serial(img.path);
  CHECK(std::equal(s.begin(), s.end(), d.serial().begin()));
}

TEST_CASE("a configured serial is NUL padded and one above 20 bytes is refused") {
  TempImage img(4096);
  DiskOptions o;
  o.serial = "disk0";
  auto d = DiskFile::open(img.path, o);
  REQUIRE(d.has_value());
  CHECK(d->serial()[4] == '0');
  CHECK(d->serial()[5] == 0);
  o.serial = std::string(21, 'x');
  CHECK_FALSE(DiskFile::open(img.path, o).has_value());
}

TEST_CASE("written data reads back and matches the host file") {
  TempImage img(1 << 20);
  for (auto b : kBackends) {
    CAPTURE(b);
    auto d = open_disk(img.path, b);
    std::vector<uint8_t> out(8192);
    std::iota(out.begin(), out.end(), uint8_t(b == IoBackend::io_uring ? 1 : 2));
    CHECK(run_one(d, rw(IoOp::write, 4096, out)) == 0);
    CHECK(img.read(4096, out.size()) == out);
    std::vector<uint8_t> in(8192, 0);
    CHECK(run_one(d, rw(IoOp::read, 4096, in)) == 0);
    CHECK(in == out);
  }
}

TEST_CASE("a vectored read fills every iovec in order") {
  TempImage img(1 << 20);
  std::vector<uint8_t> data(1536);
  std::iota(data.begin(), data.end(), uint8_t{7});
  img.write(512, data);
  for (auto b : kBackends) {
    auto d = open_disk(img.path, b);
    std::vector<uint8_t> a(512), c(1024);
    IoRequest r;
    r.op = IoOp::read;
    r.offset = 512;
    r.iov.push_back({a.data(), a.size()});
    r.iov.push_back({c.data(), c.size()});
    CHECK(run_one(d, std::move(r)) == 0);
    CHECK(std::equal(a.begin(), a.end(), data.begin()));
    CHECK(std::equal(c.begin(), c.end(), data.begin() + 512));
  }
}

TEST_CASE("a read past the end of a truncated image completes with EIO") {
  TempImage img(1 << 20);
  for (auto b : kBackends) {
    auto d = open_disk(img.path, b);
    REQUIRE(::truncate(img.path.c_str(), 4096) == 0);
    std::vector<uint8_t> in(8192);
    CHECK(run_one(d, rw(IoOp::read, 1 << 19, in)) == EIO);
    REQUIRE(::truncate(img.path.c_str(), 1 << 20) == 0);
  }
}

TEST_CASE("an empty transfer completes at once") {
  TempImage img(4096);
  for (auto b : kBackends) {
    auto d = open_disk(img.path, b);
    IoRequest r;
    r.op = IoOp::read;
    CHECK(run_one(d, std::move(r)) == 0);
  }
}

TEST_CASE("discard punches a hole and the range reads back as zeroes") {
  TempImage img(1 << 20);
  for (auto b : kBackends) {
    img.write(0, std::vector<uint8_t>(1 << 20, 0x5a));
    auto d = open_disk(img.path, b);
    CHECK(run_one(d, flush()) == 0);
    uint64_t before = img.allocated_bytes();
    CHECK(run_one(d, ranges(IoOp::discard, 0, 512 * 1024)) == 0);
    CHECK(img.allocated_bytes() + 256 * 1024 <= before);
    CHECK(img.read(0, 512 * 1024) == std::vector<uint8_t>(512 * 1024, 0));
    CHECK(img.read(512 * 1024, 16) == std::vector<uint8_t>(16, 0x5a));
    CHECK(d.capacity_sectors() == 2048);
  }
}

TEST_CASE("write-zeroes zeroes the range and leaves its neighbours alone") {
  TempImage img(1 << 20);
  for (auto b : kBackends) {
    img.write(0, std::vector<uint8_t>(1 << 20, 0x11));
    auto d = open_disk(img.path, b);
    CHECK(run_one(d, ranges(IoOp::write_zeroes, 4096, 3 * 4096)) == 0);
    CHECK(img.read(4096, 3 * 4096) == std::vector<uint8_t>(3 * 4096, 0));
    CHECK(img.read(4096 - 1, 1) == std::vector<uint8_t>{0x11});
    CHECK(img.read(4 * 4096, 1) == std::vector<uint8_t>{0x11});
  }
}

TEST_CASE("write-zeroes falls back to writing zeroes where ZERO_RANGE is refused (tmpfs)") {
  TempImage img(512 * 1024, true);
  if (!img.mounted()) {
    MESSAGE("tmpfs mount not permitted; fallback not exercised");
    return;
  }
  for (auto b : kBackends) {
    img.write(0, std::vector<uint8_t>(512 * 1024, 0x22));
    auto d = open_disk(img.path, b);
    CHECK(run_one(d, ranges(IoOp::write_zeroes, 1024, 300 * 1024)) == 0);
    CHECK(img.read(1024, 300 * 1024) == std::vector<uint8_t>(300 * 1024, 0));
    CHECK(img.read(301 * 1024, 1) == std::vector<uint8_t>{0x22});
  }
}

TEST_CASE("a read-only disk is opened O_RDONLY: a write that reaches it fails, file untouched") {
  TempImage img(4096);
  for (auto b : kBackends) {
    auto d = open_disk(img.path, b, DiskAccess::read_only);
    CHECK(d.read_only());
    std::vector<uint8_t> out(512, 0x77);
    CHECK(run_one(d, rw(IoOp::write, 0, out)) == EBADF);
    CHECK(run_one(d, ranges(IoOp::write_zeroes, 0, 512)) == EBADF);
    CHECK(img.read(0, 512) == std::vector<uint8_t>(512, 0));
  }
}

TEST_CASE("submit refuses work beyond the configured depth") {
  TempImage img(1 << 20);
  for (auto b : kBackends) {
    auto d = open_disk(img.path, b, DiskAccess::read_write, 4);
    std::vector<std::vector<uint8_t>> bufs(5, std::vector<uint8_t>(512));
    for (int i = 0; i < 4; ++i) CHECK(d.submit(uint64_t(i), rw(IoOp::read, 0, bufs[size_t(i)])));
    // The fifth may only fail while all four are still in flight; reap to make room.
    if (d.in_flight() == 4) CHECK_FALSE(d.submit(9, rw(IoOp::read, 0, bufs[4])));
    std::vector<IoCompletion> out;
    d.drain(out);
    CHECK(out.size() == 4);
    CHECK(d.in_flight() == 0);
    CHECK(d.submit(10, rw(IoOp::read, 0, bufs[4])));
    d.drain(out);
  }
}

TEST_CASE("a flush after a failed write reports EIO, and so does every later flush") {
  TempImage img(4096);
  for (auto b : kBackends) {
    auto d = open_disk(img.path, b);
    CHECK(run_one(d, flush()) == 0);
    std::vector<uint8_t> buf(8192);
    CHECK(run_one(d, rw(IoOp::write, uint64_t{1} << 62, buf)) != 0);  // EFBIG/EINVAL
    CHECK(d.error_latched());
    CHECK(run_one(d, flush()) == EIO);
    CHECK(run_one(d, rw(IoOp::write, 0, buf)) == 0);  // later writes still work
    CHECK(run_one(d, flush()) == EIO);                // but never a clean flush again
    d.clear_error_latch();                            // device reset
    CHECK(run_one(d, flush()) == 0);
  }
}

TEST_CASE("a failed read does not poison later flushes") {
  TempImage img(4096);
  for (auto b : kBackends) {
    auto d = open_disk(img.path, b);
    std::vector<uint8_t> buf(512);
    CHECK(run_one(d, rw(IoOp::read, 1 << 20, buf)) == EIO);
    CHECK(run_one(d, flush()) == 0);
  }
}

TEST_CASE("ENOSPC fails the write, later requests still run, flush stays failed") {
  TempImage img(4 << 20, true);  // a 4 MiB sparse image on a 1 MiB tmpfs
  if (!img.mounted()) {
    MESSAGE("tmpfs mount not permitted; ENOSPC not exercised");
    return;
  }
  for (auto b : kBackends) {
    auto d = open_disk(img.path, b);
    d.clear_error_latch();
    std::vector<uint8_t> big(2 << 20, 0x33);
    CHECK(run_one(d, rw(IoOp::write, 0, big)) == ENOSPC);
    std::vector<uint8_t> small(512);
    CHECK(run_one(d, rw(IoOp::read, 3 << 20, small)) == 0);
    CHECK(run_one(d, flush()) == EIO);
    CHECK(run_one(d, ranges(IoOp::discard, 0, 4 << 20)) == 0);  // frees the space again
  }
}

TEST_CASE("automatic backend prefers io_uring and works either way") {
  TempImage img(4096);
  auto d = open_disk(img.path, IoBackend::automatic);
  std::string name = d.backend_name();
  CHECK((name == "io_uring" || name == "thread-pool"));
  CHECK(run_one(d, flush()) == 0);
}

TEST_SUITE_END();

}  // namespace
}  // namespace minivmm::block
