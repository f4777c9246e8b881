// Unit tests of parse_block_request: hand-built descriptor chains on test guest memory covering
// the layout rules (split header, status inside a longer descriptor, missing / read-only status),
// the capacity arithmetic (last sector, beyond capacity, 64-bit wrap, partial sectors), request
// types (unknown, SCSI, GET_ID buffers), read-only disks, and DISCARD / WRITE_ZEROES segments.
#include "devices/block/block_request.hpp"

#include <limits>

#include <doctest/doctest.h>

#include "block_test_support.hpp"

namespace minivmm::block {
namespace {

TEST_SUITE_BEGIN("block/request");

using test::ChainBuilder;
constexpr uint64_t kCap = 2048;  // 1 MiB disk
constexpr uint64_t kMax64 = std::numeric_limits<uint64_t>::max();

BlockLimits limits(bool ro = false, bool discard = true, bool wz = true) {
  BlockLimits l;
  l.capacity_sectors = kCap;
  l.read_only = ro;
  l.discard = discard;
  l.write_zeroes = wz;
  l.max_discard_sectors = 1024;
  l.max_discard_seg = 4;
  l.max_write_zeroes_sectors = 1024;
  l.max_write_zeroes_seg = 4;
  return l;
}

void check_fails(const ParsedRequest& r, BlockStatus s, const ChainBuilder& b) {
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().status == s);
  REQUIRE(r.error().status_addr.has_value());
  CHECK(*r.error().status_addr == b.last_addr());
}

TEST_CASE("an IN request yields its writable data buffers and the status address") {
  auto mem = test::make_memory();
  ChainBuilder b(mem);
  b.header(VIRTIO_BLK_T_IN, 3).writable(512).writable(1024).status();
  auto r = parse_block_request(b.chain, mem, limits());
  REQUIRE(r.has_value());
  CHECK(r->type == RequestType::in);
  CHECK(r->sector == 3);
  REQUIRE(r->data.size() == 2);
  CHECK(r->data[0].addr == b.chain.descriptors[1].addr);
  CHECK(r->data[1].len == 1024);
  CHECK(r->data_len == 1536);
  CHECK(r->status_addr == b.last_addr());
}

TEST_CASE("an OUT request yields its readable data buffers") {
  auto mem = test::make_memory();
  ChainBuilder b(mem);
  b.header(VIRTIO_BLK_T_OUT, 0).readable(std::vector<uint8_t>(512, 1)).status();
  auto r = parse_block_request(b.chain, mem, limits());
  REQUIRE(r.has_value());
  CHECK(r->type == RequestType::out);
  CHECK(r->data_len == 512);
}

TEST_CASE("a header split across two descriptors is parsed") {
  auto mem = test::make_memory();
  auto h = ChainBuilder::header_bytes(VIRTIO_BLK_T_IN, 42);
  ChainBuilder b(mem);
  b.readable({h.begin(), h.begin() + 5}).readable({h.begin() + 5, h.end()}).writable(512).status();
  auto r = parse_block_request(b.chain, mem, limits());
  REQUIRE(r.has_value());
  CHECK(r->sector == 42);
  CHECK(r->data_len == 512);
}

TEST_CASE("OUT data sharing the header's descriptor starts after the 16 header bytes") {
  auto mem = test::make_memory();
  auto bytes = ChainBuilder::header_bytes(VIRTIO_BLK_T_OUT, 1);
  bytes.resize(16 + 512, 0xab);
  ChainBuilder b(mem);
  b.readable(bytes).status();
  auto r = parse_block_request(b.chain, mem, limits());
  REQUIRE(r.has_value());
  REQUIRE(r->data.size() == 1);
  CHECK(r->data[0].addr == b.chain.descriptors[0].addr + 16);
  CHECK(r->data[0].len == 512);
}

TEST_CASE("a header shorter than 16 bytes is IOERR") {
  auto mem = test::make_memory();
  ChainBuilder b(mem);
  b.readable(std::vector<uint8_t>(12, 0)).writable(512).status();
  check_fails(parse_block_request(b.chain, mem, limits()), BlockStatus::ioerr, b);
}

TEST_CASE("a chain whose last descriptor is read-only has no usable status") {
  auto mem = test::make_memory();
  ChainBuilder b(mem);
  b.header(VIRTIO_BLK_T_OUT, 0).readable(std::vector<uint8_t>(512, 0));
  auto r = parse_block_request(b.chain, mem, limits());
  REQUIRE_FALSE(r.has_value());
  CHECK_FALSE(r.error().status_addr.has_value());
}

TEST_CASE("an empty chain or a zero-length last descriptor has no usable status") {
  auto mem = test::make_memory();
  ChainBuilder empty(mem);
  CHECK_FALSE(parse_block_request(empty.chain, mem, limits()).error().status_addr.has_value());
  ChainBuilder b(mem);
  b.header(VIRTIO_BLK_T_FLUSH, 0).add(0x9000, 0, true);
  CHECK_FALSE(parse_block_request(b.chain, mem, limits()).error().status_addr.has_value());
}

TEST_CASE("a header-only chain without any writable byte has no usable status") {
  auto mem = test::make_memory();
  ChainBuilder b(mem);
  b.header(VIRTIO_BLK_T_FLUSH, 0);
  CHECK_FALSE(parse_block_request(b.chain, mem, limits()).error().status_addr.has_value());
}

TEST_CASE("the status is the last byte of a longer last descriptor and the rest is data") {
  auto mem = test::make_memory();
  ChainBuilder b(mem);
  b.header(VIRTIO_BLK_T_IN, 0).writable(513);
  auto r = parse_block_request(b.chain, mem, limits());
  REQUIRE(r.has_value());
  CHECK(r->status_addr == b.last_addr() + 512);
  REQUIRE(r->data.size() == 1);
  CHECK(r->data[0].addr == b.last_addr());
  CHECK(r->data[0].len == 512);
}

TEST_CASE("reading or writing exactly the last sector succeeds") {
  auto mem = test::make_memory();
  ChainBuilder in(mem);
  in.header(VIRTIO_BLK_T_IN, kCap - 1).writable(512).status();
  CHECK(parse_block_request(in.chain, mem, limits()).has_value());
  ChainBuilder out(mem, 0x20000);
  out.header(VIRTIO_BLK_T_OUT, kCap - 1).readable(std::vector<uint8_t>(512, 0)).status();
  CHECK(parse_block_request(out.chain, mem, limits()).has_value());
}

TEST_CASE("a transfer ending one sector past capacity is IOERR") {
  auto mem = test::make_memory();
  ChainBuilder b(mem);
  b.header(VIRTIO_BLK_T_IN, kCap - 1).writable(1024).status();
  check_fails(parse_block_request(b.chain, mem, limits()), BlockStatus::ioerr, b);
}

TEST_CASE("a sector beyond capacity is IOERR") {
  auto mem = test::make_memory();
  ChainBuilder b(mem);
  b.header(VIRTIO_BLK_T_OUT, kCap + 10).readable(std::vector<uint8_t>(512, 0)).status();
  check_fails(parse_block_request(b.chain, mem, limits()), BlockStatus::ioerr, b);
}

TEST_CASE("a sector plus length that wraps 64 bits is IOERR") {
  auto mem = test::make_memory();
  ChainBuilder b(mem);
  b.header(VIRTIO_BLK_T_IN, kMax64).writable(1024).status();
  check_fails(parse_block_request(b.chain, mem, limits()), BlockStatus::ioerr, b);
}

TEST_CASE("a data length that is not a multiple of 512 is IOERR") {
  auto mem = test::make_memory();
  ChainBuilder b(mem);
  b.header(VIRTIO_BLK_T_IN, 0).writable(511).status();
  check_fails(parse_block_request(b.chain, mem, limits()), BlockStatus::ioerr, b);
}

TEST_CASE("unknown request types and SCSI commands are UNSUPP") {
  auto mem = test::make_memory();
  for (uint32_t type : {uint32_t{VIRTIO_BLK_T_SCSI_CMD}, uint32_t{3}, uint32_t{10},
                        uint32_t{VIRTIO_BLK_T_SECURE_ERASE}, uint32_t{VIRTIO_BLK_T_BARRIER},
                        uint32_t{0xffffffff}}) {
    CAPTURE(type);
    ChainBuilder b(mem);
    b.header(type, 0).writable(512).status();
    check_fails(parse_block_request(b.chain, mem, limits()), BlockStatus::unsupp, b);
  }
}

TEST_CASE("IN with a device-readable data buffer is IOERR") {
  auto mem = test::make_memory();
  ChainBuilder b(mem);
  b.header(VIRTIO_BLK_T_IN, 0).readable(std::vector<uint8_t>(512, 0)).status();
  check_fails(parse_block_request(b.chain, mem, limits()), BlockStatus::ioerr, b);
}

TEST_CASE("OUT with a device-writable data buffer is IOERR") {
  auto mem = test::make_memory();
  ChainBuilder b(mem);
  b.header(VIRTIO_BLK_T_OUT, 0).writable(512).status();
  check_fails(parse_block_request(b.chain, mem, limits()), BlockStatus::ioerr, b);
}

TEST_CASE("a readable descriptor after a writable one is IOERR") {
  auto mem = test::make_memory();
  ChainBuilder b(mem);
  b.header(VIRTIO_BLK_T_IN, 0).writable(512).readable(std::vector<uint8_t>(4, 0)).status();
  check_fails(parse_block_request(b.chain, mem, limits()), BlockStatus::ioerr, b);
}

TEST_CASE("FLUSH parses, also on a read-only disk") {
  auto mem = test::make_memory();
  ChainBuilder b(mem);
  b.header(VIRTIO_BLK_T_FLUSH, 0).status();
  auto r = parse_block_request(b.chain, mem, limits(true));
  REQUIRE(r.has_value());
  CHECK(r->type == RequestType::flush);
  CHECK(r->data.empty());
}

TEST_CASE("GET_ID into a 20-byte writable buffer is accepted") {
  auto mem = test::make_memory();
  ChainBuilder b(mem);
  b.header(VIRTIO_BLK_T_GET_ID, 0).writable(20).status();
  auto r = parse_block_request(b.chain, mem, limits());
  REQUIRE(r.has_value());
  CHECK(r->data_len == 20);
}

TEST_CASE("GET_ID into a larger buffer is limited to 20 bytes") {
  auto mem = test::make_memory();
  ChainBuilder b(mem);
  b.header(VIRTIO_BLK_T_GET_ID, 0).writable(8).writable(512).status();
  auto r = parse_block_request(b.chain, mem, limits());
  REQUIRE(r.has_value());
  REQUIRE(r->data.size() == 2);
  CHECK(r->data[0].len == 8);
  CHECK(r->data[1].len == 12);
}

TEST_CASE("GET_ID into a buffer shorter than 20 bytes is IOERR") {
  auto mem = test::make_memory();
  ChainBuilder b(mem);
  b.header(VIRTIO_BLK_T_GET_ID, 0).writable(19).status();
  check_fails(parse_block_request(b.chain, mem, limits()), BlockStatus::ioerr, b);
}

TEST_CASE("GET_ID into a read-only buffer is IOERR") {
  auto mem = test::make_memory();
  ChainBuilder b(mem);
  b.header(VIRTIO_BLK_T_GET_ID, 0).readable(std::vector<uint8_t>(20, 0)).status();
  check_fails(parse_block_request(b.chain, mem, limits()), BlockStatus::ioerr, b);
}

TEST_CASE("every kind of write to a read-only disk is IOERR whatever was negotiated") {
  auto mem = test::make_memory();
  auto seg = ChainBuilder::segment_bytes(0, 8, 0);
  for (bool features : {true, false}) {
    ChainBuilder out(mem);
    out.header(VIRTIO_BLK_T_OUT, 0).readable(std::vector<uint8_t>(512, 0)).status();
    check_fails(parse_block_request(out.chain, mem, limits(true, features, features)),
                BlockStatus::ioerr, out);
    for (uint32_t t : {uint32_t{VIRTIO_BLK_T_DISCARD}, uint32_t{VIRTIO_BLK_T_WRITE_ZEROES}}) {
      ChainBuilder b(mem, 0x40000);
      b.header(t, 0).readable(seg).status();
      check_fails(parse_block_request(b.chain, mem, limits(true, features, features)),
                  BlockStatus::ioerr, b);
    }
  }
}

TEST_CASE("DISCARD and WRITE_ZEROES without the negotiated feature are UNSUPP") {
  auto mem = test::make_memory();
  auto seg = ChainBuilder::segment_bytes(0, 8, 0);
  ChainBuilder d(mem);
  d.header(VIRTIO_BLK_T_DISCARD, 0).readable(seg).status();
  check_fails(parse_block_request(d.chain, mem, limits(false, false, true)), BlockStatus::unsupp,
              d);
  ChainBuilder w(mem, 0x40000);
  w.header(VIRTIO_BLK_T_WRITE_ZEROES, 0).readable(seg).status();
  check_fails(parse_block_request(w.chain, mem, limits(false, true, false)), BlockStatus::unsupp,
              w);
}

TEST_CASE("DISCARD segments are copied in order, also when split across descriptors") {
  auto mem = test::make_memory();
  auto s1 = ChainBuilder::segment_bytes(10, 8, 0);
  auto s2 = ChainBuilder::segment_bytes(100, 16, 0);
  std::vector<uint8_t> both(s1);
  both.insert(both.end(), s2.begin(), s2.end());
  ChainBuilder b(mem);
  b.header(VIRTIO_BLK_T_DISCARD, 0)
      .readable({both.begin(), both.begin() + 20})
      .readable({both.begin() + 20, both.end()})
      .status();
  auto r = parse_block_request(b.chain, mem, limits());
  REQUIRE(r.has_value());
  REQUIRE(r->ranges.size() == 2);
  CHECK(r->ranges[0].sector == 10);
  CHECK(r->ranges[0].num_sectors == 8);
  CHECK(r->ranges[1].sector == 100);
  CHECK(r->ranges[1].num_sectors == 16);
}

TEST_CASE("DISCARD with more segments than max_discard_seg is IOERR") {
  auto mem = test::make_memory();
  std::vector<uint8_t> segs;
  for (int i = 0; i < 5; ++i) {
    auto s = ChainBuilder::segment_bytes(uint64_t(i) * 8, 8, 0);
    segs.insert(segs.end(), s.begin(), s.end());
  }
  ChainBuilder b(mem);
  b.header(VIRTIO_BLK_T_DISCARD, 0).readable(segs).status();
  check_fails(parse_block_request(b.chain, mem, limits()), BlockStatus::ioerr, b);
}

TEST_CASE("DISCARD with no segment or a partial segment is IOERR") {
  auto mem = test::make_memory();
  ChainBuilder none(mem);
  none.header(VIRTIO_BLK_T_DISCARD, 0).status();
  check_fails(parse_block_request(none.chain, mem, limits()), BlockStatus::ioerr, none);
  ChainBuilder partial(mem, 0x40000);
  partial.header(VIRTIO_BLK_T_DISCARD, 0).readable(std::vector<uint8_t>(24, 0)).status();
  check_fails(parse_block_request(partial.chain, mem, limits()), BlockStatus::ioerr, partial);
}

TEST_CASE("segments with unknown flags, or DISCARD with UNMAP, are UNSUPP") {
  auto mem = test::make_memory();
  ChainBuilder w(mem);
  w.header(VIRTIO_BLK_T_WRITE_ZEROES, 0).readable(ChainBuilder::segment_bytes(0, 8, 2)).status();
  check_fails(parse_block_request(w.chain, mem, limits()), BlockStatus::unsupp, w);
  ChainBuilder d(mem, 0x40000);
  d.header(VIRTIO_BLK_T_DISCARD, 0)
      .readable(ChainBuilder::segment_bytes(0, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP))
      .status();
  check_fails(parse_block_request(d.chain, mem, limits()), BlockStatus::unsupp, d);
}

TEST_CASE("WRITE_ZEROES with the UNMAP flag is accepted") {
  auto mem = test::make_memory();
  ChainBuilder w(mem);
  w.header(VIRTIO_BLK_T_WRITE_ZEROES, 0)
      .readable(ChainBuilder::segment_bytes(0, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP))
      .status();
  auto r = parse_block_request(w.chain, mem, limits());
  REQUIRE(r.has_value());
  CHECK(r->ranges[0].unmap);
}

TEST_CASE("segments that wrap, leave the disk or exceed the sector limit are IOERR") {
  auto mem = test::make_memory();
  struct Case {
    uint64_t sector;
    uint32_t num;
  };
  for (Case c : {Case{kMax64 - 1, 4}, Case{kCap - 4, 8}, Case{kCap + 1, 0}, Case{0, 1025}}) {
    CAPTURE(c.sector);
    ChainBuilder b(mem);
    b.header(VIRTIO_BLK_T_WRITE_ZEROES, 0)
        .readable(ChainBuilder::segment_bytes(c.sector, c.num, 0))
        .status();
    check_fails(parse_block_request(b.chain, mem, limits()), BlockStatus::ioerr, b);
  }
}

TEST_CASE("DISCARD with a device-writable buffer besides the status is IOERR") {
  auto mem = test::make_memory();
  ChainBuilder b(mem);
  b.header(VIRTIO_BLK_T_DISCARD, 0)
      .readable(ChainBuilder::segment_bytes(0, 8, 0))
      .writable(16)
      .status();
  check_fails(parse_block_request(b.chain, mem, limits()), BlockStatus::ioerr, b);
}

TEST_SUITE_END();

}  // namespace
}  // namespace minivmm::block
