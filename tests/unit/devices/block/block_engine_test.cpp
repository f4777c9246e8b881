// Unit tests of BlockEngine: parsed chains on test guest memory executed against a real image in
// /tmp through io_uring and the thread pool. They check status bytes, used lengths, file
// contents, buffers spanning two RAM regions, GET_ID, read-only disks, the FLUSH latch after
// ENOSPC, a 256-request burst held in bounded slots, and reset() dropping in-flight requests.
#include "devices/block/block_engine.hpp"

#include <poll.h>

#include <map>
#include <numeric>

#include <doctest/doctest.h>

#include "block_test_support.hpp"

namespace minivmm::block {
namespace {

TEST_SUITE_BEGIN("block/engine");

using test::ChainBuilder;
using test::TempImage;
constexpr IoBackend kBackends[] = {IoBackend::io_uring, IoBackend::thread_pool};

DiskFile open_disk(const std::string& path, IoBackend b, DiskAccess a = DiskAccess::read_write) {
  DiskOptions o;
  o.backend = b;
  o.access = a;
  o.serial = "serial-0123456789abc";  // exactly 20 bytes
  auto d = DiskFile::open(path, o);
  REQUIRE_MESSAGE(d.has_value(), (d ? std::string() : d.error().message()));
  return std::move(*d);
}

BlockLimits limits_for(const DiskFile& d) {
  BlockLimits l;
  l.capacity_sectors = d.capacity_sectors();
  l.read_only = d.read_only();
  l.discard = l.write_zeroes = true;
  l.max_discard_sectors = l.max_write_zeroes_sectors = 1u << 22;
  l.max_discard_seg = l.max_write_zeroes_seg = 8;
  return l;
}

/// An engine plus the completions it reported, keyed by head.
struct Harness {
  Harness(const GuestMemory& m, DiskFile& d, uint32_t slots = 256)
      : disk(d), engine(m, d, slots, [this](uint16_t head, uint32_t len) {
          CHECK(done.count(head) == 0);  // never completed twice
          done[head] = len;
        }) {}
  /// Runs the event loop's part until `n` requests completed.
  void wait(size_t n) {
    while (done.size() < n) {
      pollfd p{disk.completion_fd(), POLLIN, 0};
      REQUIRE(::poll(&p, 1, 10000) == 1);
      engine.process_completions();
    }
  }
  DiskFile& disk;
  std::map<uint16_t, uint32_t> done;
  BlockEngine engine;
};

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  std::iota(v.begin(), v.end(), seed);
  return v;
}

TEST_CASE("IN reads the image into guest memory with used length data + status") {
  TempImage img(1 << 20);
  img.write(1024, pattern(1024, 3));
  auto mem = test::make_memory();
  for (auto b : kBackends) {
    auto disk = open_disk(img.path, b);
    Harness h(mem, disk);
    ChainBuilder c(mem);
    c.header(VIRTIO_BLK_T_IN, 2).writable(512).writable(512).status();
    h.engine.handle(c.chain, limits_for(disk));
    h.wait(1);
    CHECK(h.done[c.chain.head] == 1025);
    CHECK(c.status_byte() == VIRTIO_BLK_S_OK);
    std::vector<uint8_t> got(1024);
    REQUIRE(mem.read(c.chain.descriptors[1].addr, {got.data(), 512}));
    REQUIRE(mem.read(c.chain.descriptors[2].addr, {got.data() + 512, 512}));
    CHECK(got == pattern(1024, 3));
  }
}

TEST_CASE("OUT writes guest data into the image with used length 1") {
  TempImage img(1 << 20);
  auto mem = test::make_memory();
  for (auto b : kBackends) {
    auto disk = open_disk(img.path, b);
    Harness h(mem, disk);
    uint8_t seed = b == IoBackend::io_uring ? 10 : 20;
    ChainBuilder c(mem);
    c.header(VIRTIO_BLK_T_OUT, 2047).readable(pattern(512, seed)).status();
    h.engine.handle(c.chain, limits_for(disk));
    h.wait(1);
    CHECK(h.done[c.chain.head] == 1);
    CHECK(c.status_byte() == VIRTIO_BLK_S_OK);
    CHECK(img.read(2047 * 512, 512) == pattern(512, seed));
  }
}

TEST_CASE("a buffer spanning two RAM regions is transferred as two iovecs") {
  TempImage img(1 << 20);
  auto m = GuestMemory::create(std::vector<RegionSpec>{{0, 1 << 20}, {1 << 20, 1 << 20}});
  REQUIRE(m.has_value());
  const GuestMemory& mem = *m;
  for (auto b : kBackends) {
    auto disk = open_disk(img.path, b);
    Harness h(mem, disk);
    const uint64_t span_addr = (1 << 20) - 256;
    REQUIRE(mem.write(span_addr, pattern(1024, 5)));
    ChainBuilder out(mem, 0x10000, 1);
    out.header(VIRTIO_BLK_T_OUT, 8).add(span_addr, 1024, false).status();
    h.engine.handle(out.chain, limits_for(disk));
    h.wait(1);
    CHECK(img.read(8 * 512, 1024) == pattern(1024, 5));
    REQUIRE(mem.fill_zero(span_addr, 1024));
    ChainBuilder in(mem, 0x20000, 2);
    in.header(VIRTIO_BLK_T_IN, 8).add(span_addr, 1024, true).status();
    h.engine.handle(in.chain, limits_for(disk));
    h.wait(2);
    std::vector<uint8_t> got(1024);
    REQUIRE(mem.read(span_addr, got));
    CHECK(got == pattern(1024, 5));
  }
}

TEST_CASE("a request beyond capacity completes at once with IOERR and writes nothing") {
  TempImage img(1 << 20);
  auto mem = test::make_memory();
  auto disk = open_disk(img.path, IoBackend::io_uring);
  Harness h(mem, disk);
  ChainBuilder c(mem);
  c.header(VIRTIO_BLK_T_OUT, 2048).readable(pattern(512, 1)).status();
  h.engine.handle(c.chain, limits_for(disk));
  CHECK(h.done.at(c.chain.head) == 1);
  CHECK(c.status_byte() == VIRTIO_BLK_S_IOERR);
  CHECK(h.engine.in_flight() == 0);
  CHECK(img.read(0, 512) == std::vector<uint8_t>(512, 0));
  CHECK(h.engine.counters().ioerr == 1);
}

TEST_CASE("a chain without a usable status returns its head with used length 0") {
  TempImage img(4096);
  auto mem = test::make_memory();
  auto disk = open_disk(img.path, IoBackend::io_uring);
  Harness h(mem, disk);
  ChainBuilder c(mem);
  c.header(VIRTIO_BLK_T_OUT, 0).readable(pattern(512, 1));
  h.engine.handle(c.chain, limits_for(disk));
  CHECK(h.done.at(c.chain.head) == 0);
  CHECK(h.engine.counters().no_status == 1);
  CHECK(img.read(0, 512) == std::vector<uint8_t>(512, 0));
}

TEST_CASE("unknown types get UNSUPP in the status byte") {
  TempImage img(4096);
  auto mem = test::make_memory();
  auto disk = open_disk(img.path, IoBackend::io_uring);
  Harness h(mem, disk);
  ChainBuilder c(mem);
  c.header(VIRTIO_BLK_T_SCSI_CMD, 0).writable(96).status();
  h.engine.handle(c.chain, limits_for(disk));
  CHECK(h.done.at(c.chain.head) == 1);
  CHECK(c.status_byte() == VIRTIO_BLK_S_UNSUPP);
}

TEST_CASE("GET_ID writes the 20-byte serial and reports 21 bytes used") {
  TempImage img(4096);
  auto mem = test::make_memory();
  auto disk = open_disk(img.path, IoBackend::io_uring);
  Harness h(mem, disk);
  ChainBuilder c(mem);
  c.header(VIRTIO_BLK_T_GET_ID, 0).writable(7).writable(64).status();
  h.engine.handle(c.chain, limits_for(disk));
  CHECK(h.done.at(c.chain.head) == 21);
  CHECK(c.status_byte() == VIRTIO_BLK_S_OK);
  std::string id(20, '\0');
  REQUIRE(mem.read(c.chain.descriptors[1].addr, {reinterpret_cast<uint8_t*>(id.data()), 7}));
  REQUIRE(mem.read(c.chain.descriptors[2].addr, {reinterpret_cast<uint8_t*>(id.data()) + 7, 13}));
  CHECK(id == "serial-0123456789abc");
  CHECK(*mem.read_obj<uint8_t>(c.chain.descriptors[2].addr + 13) == 0xee);  // no overflow
}

TEST_CASE("GET_ID into a short buffer is IOERR and leaves the buffer untouched") {
  TempImage img(4096);
  auto mem = test::make_memory();
  auto disk = open_disk(img.path, IoBackend::io_uring);
  Harness h(mem, disk);
  ChainBuilder c(mem);
  c.header(VIRTIO_BLK_T_GET_ID, 0).writable(16).status();
  h.engine.handle(c.chain, limits_for(disk));
  CHECK(c.status_byte() == VIRTIO_BLK_S_IOERR);
  std::vector<uint8_t> buf(16);
  REQUIRE(mem.read(c.chain.descriptors[1].addr, buf));
  CHECK(buf == std::vector<uint8_t>(16, 0xee));
}

TEST_CASE("writes to a read-only disk are IOERR and the image is unchanged") {
  TempImage img(1 << 20);
  auto mem = test::make_memory();
  for (auto b : kBackends) {
    auto disk = open_disk(img.path, b, DiskAccess::read_only);
    Harness h(mem, disk);
    ChainBuilder c(mem);
    c.header(VIRTIO_BLK_T_OUT, 0).readable(pattern(512, 9)).status();
    h.engine.handle(c.chain, limits_for(disk));
    CHECK(c.status_byte() == VIRTIO_BLK_S_IOERR);
    ChainBuilder z(mem, 0x40000, 3);
    z.header(VIRTIO_BLK_T_WRITE_ZEROES, 0).readable(ChainBuilder::segment_bytes(0, 8, 0)).status();
    h.engine.handle(z.chain, limits_for(disk));
    CHECK(z.status_byte() == VIRTIO_BLK_S_IOERR);
    CHECK(img.read(0, 512) == std::vector<uint8_t>(512, 0));
  }
}

TEST_CASE("DISCARD punches the range and WRITE_ZEROES zeroes it") {
  TempImage img(1 << 20);
  auto mem = test::make_memory();
  for (auto b : kBackends) {
    img.write(0, std::vector<uint8_t>(1 << 20, 0x44));
    auto disk = open_disk(img.path, b);
    Harness h(mem, disk);
    uint64_t before = img.allocated_bytes();
    ChainBuilder d(mem, 0x10000, 1);
    d.header(VIRTIO_BLK_T_DISCARD, 0).readable(ChainBuilder::segment_bytes(0, 1024, 0)).status();
    h.engine.handle(d.chain, limits_for(disk));
    ChainBuilder z(mem, 0x20000, 2);
    z.header(VIRTIO_BLK_T_WRITE_ZEROES, 0)
        .readable(ChainBuilder::segment_bytes(1024, 8, 0))
        .status();
    h.engine.handle(z.chain, limits_for(disk));
    h.wait(2);
    CHECK(d.status_byte() == VIRTIO_BLK_S_OK);
    CHECK(z.status_byte() == VIRTIO_BLK_S_OK);
    CHECK(img.allocated_bytes() < before);
    CHECK(img.read(0, 1024 * 512 + 4096) == std::vector<uint8_t>(1024 * 512 + 4096, 0));
    CHECK(img.read(1024 * 512 + 4096, 1) == std::vector<uint8_t>{0x44});
  }
}

TEST_CASE("a FLUSH after an ENOSPC write reports IOERR") {
  TempImage img(4 << 20, true);
  if (!img.mounted()) {
    MESSAGE("tmpfs mount not permitted; ENOSPC not exercised");
    return;
  }
  auto mem = test::make_memory();
  for (auto b : kBackends) {
    auto disk = open_disk(img.path, b);
    Harness h(mem, disk);
    ChainBuilder w(mem, 0x10000, 1);
    w.header(VIRTIO_BLK_T_OUT, 0).readable(std::vector<uint8_t>(2 << 20, 0x55)).status();
    h.engine.handle(w.chain, limits_for(disk));
    h.wait(1);
    CHECK(w.status_byte() == VIRTIO_BLK_S_IOERR);
    ChainBuilder f(mem, 0x400000, 2);
    f.header(VIRTIO_BLK_T_FLUSH, 0).status();
    h.engine.handle(f.chain, limits_for(disk));
    h.wait(2);
    CHECK(f.status_byte() == VIRTIO_BLK_S_IOERR);
    CHECK(::truncate(img.path.c_str(), 0) == 0);  // give the space back for the next backend
    CHECK(::truncate(img.path.c_str(), 4 << 20) == 0);
  }
}

TEST_CASE("a burst of 256 requests stays within 256 slots and completes each head once") {
  TempImage img(1 << 20);
  auto mem = test::make_memory();
  for (auto b : kBackends) {
    CAPTURE(b);
    auto disk = open_disk(img.path, b);
    Harness h(mem, disk, 256);
    std::vector<ChainBuilder> chains;
    chains.reserve(257);
    for (uint16_t i = 0; i < 256; ++i) {
      chains.emplace_back(mem, 0x100000 + uint64_t{i} * 0x1000, i);
      if (i % 2 == 0) {
        chains.back().header(VIRTIO_BLK_T_OUT, i).readable(pattern(512, uint8_t(i))).status();
      } else {
        chains.back().header(VIRTIO_BLK_T_IN, i).writable(1024).status();
      }
      REQUIRE(h.engine.has_room());
      h.engine.handle(chains.back().chain, limits_for(disk));
    }
    CHECK_FALSE(h.engine.has_room());
    h.wait(256);
    CHECK(h.engine.in_flight() == 0);
    CHECK(h.engine.has_room());
    for (const auto& c : chains) CHECK(c.status_byte() == VIRTIO_BLK_S_OK);
    CHECK(img.read(254 * 512, 512) == pattern(512, 254));
  }
}

TEST_CASE("reset waits for the disk and drops in-flight requests without completing them") {
  TempImage img(1 << 20);
  auto mem = test::make_memory();
  for (auto b : kBackends) {
    auto disk = open_disk(img.path, b);
    Harness h(mem, disk);
    for (uint16_t i = 0; i < 32; ++i) {
      ChainBuilder c(mem, 0x100000 + uint64_t{i} * 0x1000, i);
      c.header(VIRTIO_BLK_T_OUT, i).readable(pattern(512, 1)).status();
      h.engine.handle(c.chain, limits_for(disk));
    }
    h.engine.reset();
    CHECK(h.engine.in_flight() == 0);
    CHECK(disk.in_flight() == 0);
    CHECK(h.done.empty());
    h.engine.process_completions();
    CHECK(h.done.empty());
  }
}

TEST_SUITE_END();

}  // namespace
}  // namespace minivmm::block
