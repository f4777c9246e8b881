// Unit tests of the vhost-user message codec: header layout and flags of encoded requests, the
// payload layouts (u64, vring state, vring address, memory table with only the regions in use),
// the region limit, every reply-header fault check_reply() detects, and payload decoding.
#include "devices/vhost_user/vhost_user_message.hpp"

#include <cstring>
#include <vector>

#include <doctest/doctest.h>

namespace minivmm::vhost_user {
namespace {

TEST_SUITE_BEGIN("vhost_user/message");

TEST_CASE("an empty request has version 1, the request code and no payload") {
  Message m = encode_empty(Request::get_features);
  CHECK(m.header.request == 1);
  CHECK(m.header.flags == kFlagVersion);
  CHECK(m.header.size == 0);
  CHECK(m.payload_bytes().empty());
}

TEST_CASE("extra flags such as NEED_REPLY are added to the version") {
  Message m = encode_empty(Request::set_owner, kFlagNeedReply);
  CHECK(m.header.flags == (kFlagVersion | kFlagNeedReply));
  CHECK(m.header.request == 3);
}

TEST_CASE("a u64 request carries 8 little-endian bytes") {
  Message m = encode_u64(Request::set_features, 0x1122334455667788ull);
  REQUIRE(m.header.size == 8);
  CHECK(m.payload[0] == 0x88);
  CHECK(m.payload[7] == 0x11);
}

TEST_CASE("a vring state is index then num, 8 bytes") {
  Message m = encode_vring_state(Request::set_vring_num, 1, 1024);
  REQUIRE(m.header.size == 8);
  uint32_t v[2];
  std::memcpy(v, m.payload.data(), 8);
  CHECK(v[0] == 1);
  CHECK(v[1] == 1024);
  CHECK(m.header.request == 8);
}

TEST_CASE("a vring address is the 40-byte vhost_vring_addr") {
  vhost_vring_addr a{};
  a.index = 1;
  a.desc_user_addr = 0x1000;
  a.used_user_addr = 0x3000;
  a.avail_user_addr = 0x2000;
  Message m = encode_vring_addr(a);
  REQUIRE(m.header.size == 40);
  CHECK(m.header.request == 9);
  vhost_vring_addr back{};
  std::memcpy(&back, m.payload.data(), sizeof back);
  CHECK(back.desc_user_addr == 0x1000);
  CHECK(back.avail_user_addr == 0x2000);
  CHECK(back.used_user_addr == 0x3000);
}

TEST_CASE("a memory table sends the count, padding and only the regions in use") {
  MemoryRegion r[2] = {{0, 0x100000, 0x7f0000000000, 0},
                       {0x100000, 0x200000, 0x7f0000100000, 0x100000}};
  auto m = encode_memory_table(r);
  REQUIRE(m.has_value());
  CHECK(m->header.request == 5);
  CHECK(m->header.size == 8 + 2 * 32);
  uint32_t n;
  std::memcpy(&n, m->payload.data(), 4);
  CHECK(n == 2);
  MemoryRegion second{};
  std::memcpy(&second, m->payload.data() + 8 + 32, sizeof second);
  CHECK(second.guest_phys_addr == 0x100000);
  CHECK(second.memory_size == 0x200000);
  CHECK(second.userspace_addr == 0x7f0000100000);
  CHECK(second.mmap_offset == 0x100000);
}

TEST_CASE("a memory table refuses zero or more than 8 regions") {
  std::vector<MemoryRegion> nine(9);
  CHECK_FALSE(encode_memory_table(nine).has_value());
  CHECK_FALSE(encode_memory_table({}).has_value());
  std::vector<MemoryRegion> eight(8);
  CHECK(encode_memory_table(eight).has_value());
}

Header reply(uint32_t request, uint32_t flags, uint32_t size) {
  return {request, flags, size};
}

TEST_CASE("check_reply accepts an exact reply, with or without NEED_REPLY echoed") {
  CHECK(check_reply(reply(1, 0x5, 8), Request::get_features, 8) == ReplyFault::none);
  CHECK(check_reply(reply(1, 0xd, 8), Request::get_features, 8) == ReplyFault::none);
}

TEST_CASE("check_reply rejects a reply to a different request") {
  CHECK(check_reply(reply(2, 0x5, 8), Request::get_features, 8) == ReplyFault::wrong_request);
}

TEST_CASE("check_reply rejects a missing REPLY flag") {
  CHECK(check_reply(reply(1, 0x1, 8), Request::get_features, 8) == ReplyFault::not_a_reply);
}

TEST_CASE("check_reply rejects versions other than 1") {
  CHECK(check_reply(reply(1, 0x6, 8), Request::get_features, 8) == ReplyFault::bad_version);
  CHECK(check_reply(reply(1, 0x4, 8), Request::get_features, 8) == ReplyFault::bad_version);
}

TEST_CASE("check_reply rejects unknown flag bits") {
  CHECK(check_reply(reply(1, 0x15, 8), Request::get_features, 8) == ReplyFault::unknown_flags);
  CHECK(check_reply(reply(1, 0x80000005, 8), Request::get_features, 8) ==
        ReplyFault::unknown_flags);
}

TEST_CASE("check_reply rejects payload sizes other than the expected one") {
  CHECK(check_reply(reply(1, 0x5, 16), Request::get_features, 8) == ReplyFault::wrong_size);
  CHECK(check_reply(reply(1, 0x5, 4), Request::get_features, 8) == ReplyFault::wrong_size);
  CHECK(check_reply(reply(1, 0x5, 0), Request::get_features, 8) == ReplyFault::wrong_size);
}

TEST_CASE("decode_u64 and decode_vring_state read the payload") {
  Message m = encode_u64(Request::get_features, 0xdeadbeefcafef00dull);
  CHECK(decode_u64(m) == 0xdeadbeefcafef00dull);
  Message s = encode_vring_state(Request::get_vring_base, 1, 77);
  vhost_vring_state st = decode_vring_state(s);
  CHECK(st.index == 1);
  CHECK(st.num == 77);
}

TEST_CASE("request names are the protocol's") {
  CHECK(std::string(request_name(Request::get_vring_base)) == "GET_VRING_BASE");
  CHECK(std::string(request_name(Request::set_mem_table)) == "SET_MEM_TABLE");
  CHECK(std::string(request_name(static_cast<Request>(999))) == "REQUEST(?)");
}

}  // namespace
}  // namespace minivmm::vhost_user
