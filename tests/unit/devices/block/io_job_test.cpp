// Unit tests of IoJob's step machine with synthetic results (no I/O): short reads and writes
// resume where they stopped, a zero-byte step ends with EIO, EINTR is retried a bounded number of
// times, flush is one fdatasync, discard treats EOPNOTSUPP as success, and write-zeroes falls back
// from FALLOC_FL_ZERO_RANGE to plain zero writes (remembered for later jobs).
#include "devices/block/io_job.hpp"

#include <linux/falloc.h>

#include <cerrno>
#include <vector>

#include <doctest/doctest.h>

namespace minivmm::block {
namespace {

TEST_SUITE_BEGIN("block/io_job");

IoRequest write_req(std::vector<uint8_t>& a, std::vector<uint8_t>& b) {
  IoRequest r;
  r.op = IoOp::write;
  r.offset = 4096;
  r.iov.push_back({a.data(), a.size()});
  r.iov.push_back({b.data(), b.size()});
  return r;
}

TEST_CASE("a short write resumes at the first unwritten byte and offset") {
  std::vector<uint8_t> a(512), b(1024);
  std::atomic<bool> zr{true};
  IoJob job(1, write_req(a, b), &zr);
  auto s = job.next();
  REQUIRE(s.has_value());
  CHECK(s->kind == IoStep::Kind::writev);
  CHECK(s->iovcnt == 2);
  job.complete_step(700);  // all of a, 188 bytes of b
  s = job.next();
  REQUIRE(s.has_value());
  CHECK(s->offset == 4096 + 700);
  CHECK(s->iovcnt == 1);
  CHECK(s->iov[0].iov_base == b.data() + 188);
  CHECK(s->iov[0].iov_len == 1024 - 188);
  job.complete_step(1024 - 188);
  CHECK_FALSE(job.next().has_value());
  CHECK(job.error() == 0);
}

TEST_CASE("a step that transfers nothing ends the job with EIO") {
  std::vector<uint8_t> a(512), b(512);
  std::atomic<bool> zr{true};
  IoJob job(1, write_req(a, b), &zr);
  job.next();
  job.complete_step(0);
  CHECK_FALSE(job.next().has_value());
  CHECK(job.error() == EIO);
}

TEST_CASE("an errno result ends the job with that errno") {
  std::vector<uint8_t> a(512), b(512);
  std::atomic<bool> zr{true};
  IoJob job(1, write_req(a, b), &zr);
  job.next();
  job.complete_step(-ENOSPC);
  CHECK_FALSE(job.next().has_value());
  CHECK(job.error() == ENOSPC);
}

TEST_CASE("EINTR is retried, but only a bounded number of times") {
  std::vector<uint8_t> a(512), b(512);
  std::atomic<bool> zr{true};
  IoJob job(1, write_req(a, b), &zr);
  int steps = 0;
  while (auto s = job.next()) {
    ++steps;
    REQUIRE(steps < 100);
    job.complete_step(-EINTR);
  }
  CHECK(steps > 1);
  CHECK(job.error() == EINTR);
}

TEST_CASE("flush is a single fdatasync") {
  IoRequest r;
  r.op = IoOp::flush;
  std::atomic<bool> zr{true};
  IoJob job(3, std::move(r), &zr);
  auto s = job.next();
  REQUIRE(s.has_value());
  CHECK(s->kind == IoStep::Kind::fdatasync);
  job.complete_step(0);
  CHECK_FALSE(job.next().has_value());
  CHECK(job.error() == 0);
  CHECK(job.tag() == 3);
}

TEST_CASE("discard punches each range and treats EOPNOTSUPP as done") {
  IoRequest r;
  r.op = IoOp::discard;
  r.ranges.push_back({0, 4096});
  r.ranges.push_back({8192, 4096});
  std::atomic<bool> zr{true};
  IoJob job(1, std::move(r), &zr);
  auto s = job.next();
  REQUIRE(s.has_value());
  CHECK(s->mode == (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE));
  job.complete_step(-EOPNOTSUPP);
  s = job.next();
  REQUIRE(s.has_value());
  CHECK(s->offset == 8192);
  job.complete_step(0);
  CHECK_FALSE(job.next().has_value());
  CHECK(job.error() == 0);
}

TEST_CASE("write-zeroes falls back to zero writes when ZERO_RANGE is refused") {
  IoRequest r;
  r.op = IoOp::write_zeroes;
  r.ranges.push_back({512, 3u << 20});  // 3 MiB: more than one 1 MiB zero-write step
  std::atomic<bool> zr{true};
  IoJob job(1, std::move(r), &zr);
  auto s = job.next();
  REQUIRE(s.has_value());
  CHECK(s->kind == IoStep::Kind::fallocate);
  CHECK(s->mode == (FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE));
  job.complete_step(-EOPNOTSUPP);
  CHECK_FALSE(zr.load());
  uint64_t written = 0;
  while ((s = job.next())) {
    CHECK(s->kind == IoStep::Kind::writev);
    CHECK(s->offset == 512 + written);
    uint64_t n = 0;
    for (unsigned i = 0; i < s->iovcnt; ++i) n += s->iov[i].iov_len;
    CHECK(n <= (1u << 20));
    written += n;
    job.complete_step(static_cast<int64_t>(n));
  }
  CHECK(written == (3u << 20));
  CHECK(job.error() == 0);
}

TEST_CASE("write-zeroes skips ZERO_RANGE once the disk is known not to support it") {
  IoRequest r;
  r.op = IoOp::write_zeroes;
  r.ranges.push_back({0, 4096});
  std::atomic<bool> zr{false};
  IoJob job(1, std::move(r), &zr);
  auto s = job.next();
  REQUIRE(s.has_value());
  CHECK(s->kind == IoStep::Kind::writev);
}

TEST_SUITE_END();

}  // namespace
}  // namespace minivmm::block
