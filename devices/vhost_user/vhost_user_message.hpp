// The vhost-user wire format (QEMU docs/interop/vhost-user.rst, "Message Specification"): the
// 12-byte header {u32 request, u32 flags, u32 size}, the request codes and flag bits the frontend
// uses, the payload layouts (u64, vring state, vring address, memory table of up to 8 regions),
// encoders that build a complete request, and the checks a reply must pass (request id, REPLY flag
// and version, exact size) with decoders for the reply payloads minivmm reads. Pure functions on
// bytes: no sockets, no file descriptors (vhost_user_channel.hpp moves bytes and fds) and no
// protocol state (vhost_user_frontend.hpp).
#pragma once

// <linux/vhost_types.h> pulls in <linux/virtio_ring.h>, whose legacy helpers are not C++.
#ifndef VIRTIO_RING_NO_LEGACY
#define VIRTIO_RING_NO_LEGACY
#endif
#include <linux/vhost_types.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "vmm/sys/error.hpp"

namespace minivmm::vhost_user {

/// Frontend request codes (vhost-user.rst "Front-end message types"); only those minivmm sends.
enum class Request : uint32_t {
  get_features = 1,
  set_features = 2,
  set_owner = 3,
  reset_owner = 4,
  set_mem_table = 5,
  set_vring_num = 8,
  set_vring_addr = 9,
  set_vring_base = 10,
  get_vring_base = 11,
  set_vring_kick = 12,
  set_vring_call = 13,
  get_protocol_features = 15,
  set_protocol_features = 16,
  get_queue_num = 17,
  set_vring_enable = 18,
};
/// "GET_FEATURES" etc. for error messages; "REQUEST(n)" for unknown codes.
const char* request_name(Request r) noexcept;

/// Header flags: bits 0-1 version (always 1), bit 2 reply, bit 3 need_reply.
inline constexpr uint32_t kFlagVersionMask = 0x3;
inline constexpr uint32_t kFlagVersion = 0x1;
inline constexpr uint32_t kFlagReply = 0x4;
inline constexpr uint32_t kFlagNeedReply = 0x8;

/// Feature bit 30 of GET/SET_FEATURES: the backend speaks GET/SET_PROTOCOL_FEATURES. A vhost-user
/// bit, never a virtio feature offered to the guest.
inline constexpr unsigned kFeatureProtocolFeatures = 30;
/// Protocol feature bits (vhost-user.rst "Protocol features") minivmm may negotiate.
inline constexpr unsigned kProtocolMq = 0;
inline constexpr unsigned kProtocolReplyAck = 3;

/// SET_VRING_KICK/CALL payload: bits 0-7 the queue index, bit 8 "no fd" (polling mode).
inline constexpr uint64_t kVringIndexMask = 0xff;
inline constexpr uint64_t kVringNoFd = 0x100;

/// Memory table limits: VHOST_MEMORY_BASELINE_NREGIONS, and the same bound on fds per message.
inline constexpr size_t kMaxRegions = 8;
inline constexpr size_t kMaxFds = 8;

struct Header {
  uint32_t request = 0;
  uint32_t flags = 0;
  uint32_t size = 0;  ///< payload bytes following the header
};
static_assert(sizeof(Header) == 12);

/// One region of SET_MEM_TABLE: the backend mmaps `memory_size + mmap_offset` bytes of the fd
/// sent with it and finds guest_phys_addr at mmap_offset.
struct MemoryRegion {
  uint64_t guest_phys_addr = 0;
  uint64_t memory_size = 0;
  uint64_t userspace_addr = 0;  ///< the frontend's host address of the region (SET_VRING_ADDR)
  uint64_t mmap_offset = 0;
};
struct MemoryTable {
  uint32_t nregions = 0;
  uint32_t padding = 0;
  MemoryRegion regions[kMaxRegions];
};
static_assert(sizeof(MemoryRegion) == 32 && sizeof(MemoryTable) == 264);
static_assert(sizeof(vhost_vring_state) == 8 && sizeof(vhost_vring_addr) == 40);

/// The largest payload minivmm sends or accepts (the memory table).
inline constexpr size_t kMaxPayload = sizeof(MemoryTable);

/// A complete message: header plus up to kMaxPayload payload bytes (header.size of them valid).
/// The channel sends header and payload as two iovecs of one sendmsg().
struct Message {
  Header header;
  std::array<uint8_t, kMaxPayload> payload{};

  std::span<const uint8_t> payload_bytes() const noexcept {
    return {payload.data(), header.size < kMaxPayload ? header.size : kMaxPayload};
  }
};

// --- encoders: complete requests with version 1 and `flags` (e.g. kFlagNeedReply) ---
Message encode_empty(Request r, uint32_t flags = 0) noexcept;
Message encode_u64(Request r, uint64_t value, uint32_t flags = 0) noexcept;
Message encode_vring_state(Request r, uint32_t index, uint32_t num, uint32_t flags = 0) noexcept;
Message encode_vring_addr(const vhost_vring_addr& addr, uint32_t flags = 0) noexcept;
/// Errors (invalid_config): no regions or more than kMaxRegions.
Result<Message> encode_memory_table(std::span<const MemoryRegion> regions, uint32_t flags = 0);

// --- replies (Backend-controlled: every field is checked before use) ---
/// Why a reply header was refused.
enum class ReplyFault {
  none = 0,
  wrong_request,  ///< request id differs from the request sent
  not_a_reply,    ///< REPLY flag missing
  bad_version,    ///< version bits are not 1
  unknown_flags,  ///< bits other than version, REPLY and NEED_REPLY set
  wrong_size,     ///< payload size differs from the expected one
};
const char* describe(ReplyFault f) noexcept;
ReplyFault check_reply(const Header& h, Request expected, uint32_t expected_size) noexcept;

/// The payload as u64 / vring state (the caller has checked the size with check_reply()).
uint64_t decode_u64(const Message& m) noexcept;
vhost_vring_state decode_vring_state(const Message& m) noexcept;

}  // namespace minivmm::vhost_user
