// Unit tests of answer_with_fuse_error on hand-built chains: the reply header (len 16, -errno,
// the request's unique) in one descriptor or split over several on both sides, and the malformed
// cases that must write nothing and return used length 0 (short in-header, no writable buffer as
// for FUSE_FORGET, fewer than 16 writable bytes).
#include "devices/fs/fuse_error_reply.hpp"

#include <linux/fuse.h>

#include <cerrno>

#include <doctest/doctest.h>

#include "tests/unit/devices/fs/fs_test_support.hpp"

namespace minivmm::fs {
namespace {

TEST_SUITE_BEGIN("fs/fuse_error_reply");

using test::Arena;

struct Chain {
  const GuestMemory& mem;
  virtio::DescriptorChain chain;
  void add(uint64_t addr, uint32_t len, bool writable) {
    chain.descriptors.push_back({addr, len, writable});
    (writable ? chain.writable_len : chain.readable_len) += len;
  }
};

TEST_CASE("a request gets len 16, the negated errno and its unique") {
  GuestMemory mem = test::make_memory();
  Arena a{mem, 0x1000};
  Chain c{mem, {}};
  auto req = test::fuse_request(FUSE_LOOKUP, 0xabcdef01234ull, 1, {'x', 0});
  c.add(a.put(req), static_cast<uint32_t>(req.size()), false);
  uint64_t out = a.alloc(16 + 128);
  c.add(out, 16 + 128, true);
  FuseErrorOutcome o = answer_with_fuse_error(mem, c.chain, ENOTCONN);
  CHECK_FALSE(o.malformed);
  CHECK(o.used_len == 16);
  CHECK(o.unique == 0xabcdef01234ull);
  CHECK(o.opcode == FUSE_LOOKUP);
  fuse_out_header h = test::read_out_header(mem, out);
  CHECK(h.len == 16);
  CHECK(h.error == -ENOTCONN);
  CHECK(h.unique == 0xabcdef01234ull);
  CHECK(mem.read_obj<uint8_t>(out + 16).value() == 0xee);  // nothing beyond the header
}

TEST_CASE("headers split across descriptors are gathered and scattered") {
  GuestMemory mem = test::make_memory();
  Arena a{mem, 0x1000};
  Chain c{mem, {}};
  auto req = test::fuse_request(FUSE_GETATTR, 77, 1, std::vector<uint8_t>(16, 0));
  std::vector<uint8_t> first(req.begin(), req.begin() + 10), rest(req.begin() + 10, req.end());
  c.add(a.put(first), 10, false);
  c.add(a.put(rest), static_cast<uint32_t>(rest.size()), false);
  uint64_t o1 = a.alloc(5), o2 = a.alloc(7), o3 = a.alloc(100);
  c.add(o1, 5, true);
  c.add(o2, 7, true);
  c.add(o3, 100, true);
  FuseErrorOutcome o = answer_with_fuse_error(mem, c.chain, EIO);
  REQUIRE_FALSE(o.malformed);
  std::vector<uint8_t> reply(16);
  REQUIRE(mem.read(o1, std::span(reply).subspan(0, 5)));
  REQUIRE(mem.read(o2, std::span(reply).subspan(5, 7)));
  REQUIRE(mem.read(o3, std::span(reply).subspan(12, 4)));
  fuse_out_header h{};
  std::memcpy(&h, reply.data(), 16);
  CHECK(h.len == 16);
  CHECK(h.error == -EIO);
  CHECK(h.unique == 77);
}

TEST_CASE("fewer readable bytes than a fuse_in_header is malformed and writes nothing") {
  GuestMemory mem = test::make_memory();
  Arena a{mem, 0x1000};
  Chain c{mem, {}};
  auto req = test::fuse_request(FUSE_LOOKUP, 5, 1);
  req.resize(39);
  c.add(a.put(req), 39, false);
  uint64_t out = a.alloc(64);
  c.add(out, 64, true);
  FuseErrorOutcome o = answer_with_fuse_error(mem, c.chain, ENOTCONN);
  CHECK(o.malformed);
  CHECK(o.used_len == 0);
  CHECK(mem.read_obj<uint32_t>(out).value() == 0xeeeeeeee);
}

TEST_CASE("FUSE_FORGET, which has no writable buffer, is returned empty as no_reply") {
  GuestMemory mem = test::make_memory();
  Arena a{mem, 0x1000};
  Chain c{mem, {}};
  fuse_forget_in f{};
  f.nlookup = 1;
  auto req = test::fuse_request(FUSE_FORGET, 9, 5, test::bytes_of(f));
  c.add(a.put(req), static_cast<uint32_t>(req.size()), false);
  FuseErrorOutcome o = answer_with_fuse_error(mem, c.chain, ENOTCONN);
  CHECK_FALSE(o.malformed);
  CHECK(o.no_reply);
  CHECK(o.used_len == 0);
}

TEST_CASE("any other request without a writable buffer is malformed") {
  GuestMemory mem = test::make_memory();
  Arena a{mem, 0x1000};
  Chain c{mem, {}};
  auto req = test::fuse_request(FUSE_LOOKUP, 9, 5, {'a', 0});
  c.add(a.put(req), static_cast<uint32_t>(req.size()), false);
  FuseErrorOutcome o = answer_with_fuse_error(mem, c.chain, ENOTCONN);
  CHECK(o.malformed);
  CHECK_FALSE(o.no_reply);
  CHECK(o.used_len == 0);
}

TEST_CASE("fewer than 16 writable bytes is malformed and writes nothing") {
  GuestMemory mem = test::make_memory();
  Arena a{mem, 0x1000};
  Chain c{mem, {}};
  auto req = test::fuse_request(FUSE_LOOKUP, 5, 1);
  c.add(a.put(req), static_cast<uint32_t>(req.size()), false);
  uint64_t o1 = a.alloc(8), o2 = a.alloc(7);
  c.add(o1, 8, true);
  c.add(o2, 7, true);
  FuseErrorOutcome o = answer_with_fuse_error(mem, c.chain, ENOTCONN);
  CHECK(o.malformed);
  CHECK(mem.read_obj<uint64_t>(o1).value() == 0xeeeeeeeeeeeeeeeeull);
}

}  // namespace
}  // namespace minivmm::fs
