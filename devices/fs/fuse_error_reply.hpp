// answer_with_fuse_error: the whole "request parser" minivmm needs for virtio-fs, used only after
// the vhost-user backend is lost: it reads the fuse_in_header at the start of a chain's readable
// part (<linux/fuse.h>, virtio v1.2 5.11.6 "Device Operation": the request is readable buffers
// followed by writable ones) and writes a bare fuse_out_header {len = 16, error = -errno,
// unique = the request's unique} into the first 16 writable bytes. Both may be split across
// descriptors. It does no other FUSE parsing and no I/O; the queue loop is fs_takeover.hpp.
#pragma once

#include <cstdint>

#include "devices/virtio/descriptor_chain.hpp"
#include "vmm/memory/guest_memory.hpp"

namespace minivmm::fs {

/// What answering one chain did.
struct FuseErrorOutcome {
  uint32_t used_len = 0;   ///< 16 after a reply, 0 otherwise
  bool malformed = false;  ///< no complete in-header, or fewer than 16 writable bytes
  bool no_reply = false;   ///< FUSE_FORGET / FUSE_BATCH_FORGET: returned empty, by design
  uint64_t unique = 0;     ///< the request's unique (valid when !malformed)
  uint32_t opcode = 0;     ///< the request's opcode (valid when !malformed)
};

/// Answers `chain` with error `errno_value` (positive, e.g. ENOTCONN; written as -errno_value).
/// A chain with fewer than sizeof(fuse_in_header) readable bytes or fewer than
/// sizeof(fuse_out_header) writable bytes is malformed: nothing is written and used_len is 0.
/// FUSE_FORGET and FUSE_BATCH_FORGET, which have no reply, are returned the same way but
/// reported as no_reply rather than malformed.
/// Precondition: the chain came from SplitQueue::pop() (every buffer is inside guest RAM).
FuseErrorOutcome answer_with_fuse_error(const GuestMemory& mem,
                                        const virtio::DescriptorChain& chain, int errno_value);

}  // namespace minivmm::fs
