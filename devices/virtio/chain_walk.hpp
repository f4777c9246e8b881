// walk_chain: turns the descriptor chain starting at one head of a split virtqueue's descriptor
// table into a validated DescriptorChain (virtio v1.2 2.7.5, indirect tables 2.7.5.3). Each
// descriptor is copied out of guest memory once and then validated: loops end after at most
// queue-size hops (or the indirect table's entry count), `next` is range-checked, every buffer
// lies inside guest RAM (overflow-safe), INDIRECT is honoured only when negotiated and never
// nested, readable-after-writable is refused, zero-length descriptors are dropped and the total
// length is capped at 2^32 - 1. It does not read ring indices or track in-flight heads
// (SplitQueue does).
#pragma once

#include <cstdint>

#include "devices/virtio/descriptor_chain.hpp"
#include "vmm/memory/guest_memory.hpp"

namespace minivmm::virtio {

/// Why a chain was malformed (for counting and rate-limited logs).
enum class ChainFault {
  none = 0,
  head_out_of_range,   ///< head >= size: nothing can be completed
  head_in_flight,      ///< the head was already popped and not completed: nothing completed
  next_out_of_range,   ///< a `next` >= size (or >= the indirect table's entry count)
  too_long,            ///< more hops than the queue size (or table entries): a loop
  buffer_outside_ram,  ///< addr+len leaves RAM, crosses a hole or overflows
  indirect_not_negotiated,
  indirect_bad_table,  ///< length 0, not a multiple of 16, more entries than the queue size, or
                       ///< outside RAM
  indirect_nested,
  indirect_with_next,  ///< INDIRECT and NEXT both set (2.7.5.3.1)
  readable_after_writable,
  total_too_long,  ///< the chain's total length exceeds 2^32 - 1
};
const char* describe(ChainFault f) noexcept;

/// Where the table is and what was negotiated. `desc_table` is validated to hold `size` entries.
struct ChainWalkParams {
  uint64_t desc_table = 0;
  uint32_t size = 0;      ///< queue size, a validated power of two <= 32768
  bool indirect = false;  ///< VIRTIO_RING_F_INDIRECT_DESC negotiated
};

/// Walks from `head` (< size, checked by the caller) and fills out.descriptors, readable_len and
/// writable_len (out.head is left to the caller). Returns ChainFault::none on success; on a fault
/// `out` holds a partial walk and must not be used.
ChainFault walk_chain(const GuestMemory& mem, const ChainWalkParams& p, uint16_t head,
                      DescriptorChain& out);

}  // namespace minivmm::virtio
