// Encoding of vhost-user requests and checking/decoding of replies (vhost-user.rst "Message
// Specification"). Payloads are little-endian native structs: vhost-user only runs between
// processes on the same host, and minivmm only builds for little-endian x86-64.
#include "devices/vhost_user/vhost_user_message.hpp"

#include <bit>
#include <cstring>

namespace minivmm::vhost_user {
namespace {

static_assert(std::endian::native == std::endian::little);

template <typename T>
Message encode_obj(Request r, const T& obj, uint32_t flags) noexcept {
  static_assert(sizeof(T) <= kMaxPayload);
  Message m;
  m.header = {static_cast<uint32_t>(r), kFlagVersion | flags, static_cast<uint32_t>(sizeof(T))};
  std::memcpy(m.payload.data(), &obj, sizeof(T));
  return m;
}

}  // namespace

const char* request_name(Request r) noexcept {
  switch (r) {
    case Request::get_features:
      return "GET_FEATURES";
    case Request::set_features:
      return "SET_FEATURES";
    case Request::set_owner:
      return "SET_OWNER";
    case Request::reset_owner:
      return "RESET_OWNER";
    case Request::set_mem_table:
      return "SET_MEM_TABLE";
    case Request::set_vring_num:
      return "SET_VRING_NUM";
    case Request::set_vring_addr:
      return "SET_VRING_ADDR";
    case Request::set_vring_base:
      return "SET_VRING_BASE";
    case Request::get_vring_base:
      return "GET_VRING_BASE";
    case Request::set_vring_kick:
      return "SET_VRING_KICK";
    case Request::set_vring_call:
      return "SET_VRING_CALL";
    case Request::get_protocol_features:
      return "GET_PROTOCOL_FEATURES";
    case Request::set_protocol_features:
      return "SET_PROTOCOL_FEATURES";
    case Request::get_queue_num:
      return "GET_QUEUE_NUM";
    case Request::set_vring_enable:
      return "SET_VRING_ENABLE";
  }
  return "REQUEST(?)";
}

Message encode_empty(Request r, uint32_t flags) noexcept {
  Message m;
  m.header = {static_cast<uint32_t>(r), kFlagVersion | flags, 0};
  return m;
}

Message encode_u64(Request r, uint64_t value, uint32_t flags) noexcept {
  return encode_obj(r, value, flags);
}

Message encode_vring_state(Request r, uint32_t index, uint32_t num, uint32_t flags) noexcept {
  return encode_obj(r, vhost_vring_state{index, num}, flags);
}

Message encode_vring_addr(const vhost_vring_addr& addr, uint32_t flags) noexcept {
  return encode_obj(Request::set_vring_addr, addr, flags);
}

Result<Message> encode_memory_table(std::span<const MemoryRegion> regions, uint32_t flags) {
  if (regions.empty() || regions.size() > kMaxRegions)
    return make_error(ErrorCode::invalid_config,
                      "vhost-user SET_MEM_TABLE: {} memory regions (1..{} supported)",
                      regions.size(), kMaxRegions);
  MemoryTable table;
  table.nregions = static_cast<uint32_t>(regions.size());
  for (size_t i = 0; i < regions.size(); ++i) table.regions[i] = regions[i];
  // The payload is the header of the table plus only the regions in use (vhost-user.rst
  // "Multiple Memory regions Description": num regions, padding, then the region array).
  Message m = encode_obj(Request::set_mem_table, table, flags);
  m.header.size = static_cast<uint32_t>(8 + sizeof(MemoryRegion) * regions.size());
  return m;
}

const char* describe(ReplyFault f) noexcept {
  switch (f) {
    case ReplyFault::none:
      return "ok";
    case ReplyFault::wrong_request:
      return "reply to a different request";
    case ReplyFault::not_a_reply:
      return "REPLY flag missing";
    case ReplyFault::bad_version:
      return "protocol version is not 1";
    case ReplyFault::unknown_flags:
      return "unknown header flags";
    case ReplyFault::wrong_size:
      return "unexpected payload size";
  }
  return "?";
}

ReplyFault check_reply(const Header& h, Request expected, uint32_t expected_size) noexcept {
  // Backend-controlled: the whole header; each field must be exactly what the request implies.
  if (h.request != static_cast<uint32_t>(expected)) return ReplyFault::wrong_request;
  if ((h.flags & kFlagVersionMask) != kFlagVersion) return ReplyFault::bad_version;
  if (!(h.flags & kFlagReply)) return ReplyFault::not_a_reply;
  if (h.flags & ~(kFlagVersionMask | kFlagReply | kFlagNeedReply)) return ReplyFault::unknown_flags;
  if (h.size != expected_size) return ReplyFault::wrong_size;
  return ReplyFault::none;
}

uint64_t decode_u64(const Message& m) noexcept {
  uint64_t v = 0;
  std::memcpy(&v, m.payload.data(), sizeof v);
  return v;
}

vhost_vring_state decode_vring_state(const Message& m) noexcept {
  vhost_vring_state s{};
  std::memcpy(&s, m.payload.data(), sizeof s);
  return s;
}

}  // namespace minivmm::vhost_user
