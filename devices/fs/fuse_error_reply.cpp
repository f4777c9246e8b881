// Implementation of answer_with_fuse_error: gathers the in-header from the readable descriptors
// and scatters the out-header over the writable ones. The header bytes are copied into host
// structs once; only `unique` and `opcode` are used, and neither bounds anything.
#include "devices/fs/fuse_error_reply.hpp"

#include <linux/fuse.h>

#include <algorithm>
#include <cstring>
#include <span>

namespace minivmm::fs {
namespace {

/// Copies the first out.size() bytes of the readable (or writable) descriptors into `out`.
bool gather(const GuestMemory& mem, const virtio::DescriptorChain& chain, std::span<uint8_t> out) {
  size_t done = 0;
  for (const virtio::Descriptor& d : chain.descriptors) {
    if (done == out.size() || d.device_writable) break;
    size_t n = std::min<size_t>(d.len, out.size() - done);
    if (!mem.read(d.addr, out.subspan(done, n))) return false;
    done += n;
  }
  return done == out.size();
}

/// Writes `in` over the first writable descriptors, in chain order.
bool scatter(const GuestMemory& mem, const virtio::DescriptorChain& chain,
             std::span<const uint8_t> in) {
  size_t done = 0;
  for (const virtio::Descriptor& d : chain.descriptors) {
    if (done == in.size()) break;
    if (!d.device_writable) continue;
    size_t n = std::min<size_t>(d.len, in.size() - done);
    if (!mem.write(d.addr, in.subspan(done, n))) return false;
    done += n;
  }
  return done == in.size();
}

}  // namespace

FuseErrorOutcome answer_with_fuse_error(const GuestMemory& mem,
                                        const virtio::DescriptorChain& chain, int errno_value) {
  FuseErrorOutcome out;
  out.malformed = true;
  // Guest-controlled: the buffer lengths; both headers must fit entirely.
  fuse_in_header in{};
  if (chain.readable_len < sizeof in ||
      !gather(mem, chain, {reinterpret_cast<uint8_t*>(&in), sizeof in}))
    return out;
  // Guest-controlled: opcode, only compared; unique, echoed back unchanged.
  out.unique = in.unique;
  out.opcode = in.opcode;
  if (chain.writable_len < sizeof(fuse_out_header)) {
    out.no_reply = in.opcode == FUSE_FORGET || in.opcode == FUSE_BATCH_FORGET;
    out.malformed = !out.no_reply;
    return out;
  }
  fuse_out_header reply{};
  reply.len = sizeof reply;
  reply.error = -errno_value;
  reply.unique = in.unique;
  if (!scatter(mem, chain, {reinterpret_cast<const uint8_t*>(&reply), sizeof reply})) return out;
  out.malformed = false;
  out.used_len = sizeof reply;
  return out;
}

}  // namespace minivmm::fs
