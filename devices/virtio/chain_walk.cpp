// Implementation of walk_chain (virtio v1.2 2.7.5, 2.7.5.3). Every field of every descriptor is
// guest-controlled; each is read once into a host vring_desc and checked before use.
#include "devices/virtio/chain_walk.hpp"

#include "devices/virtio/ring_abi.hpp"

#include <limits>

namespace minivmm::virtio {
namespace {

constexpr uint64_t kMaxChainBytes = std::numeric_limits<uint32_t>::max();

struct WalkState {
  const GuestMemory& mem;
  DescriptorChain& out;
  uint64_t total = 0;
  bool seen_writable = false;
};

/// Validates one (non-indirect) descriptor copy and appends it.
ChainFault add_descriptor(WalkState& st, const vring_desc& d) {
  // Guest-controlled: len; zero-length descriptors carry nothing and are dropped (they still
  // count as a hop, so they cannot make the walk longer).
  if (d.len == 0) return ChainFault::none;
  bool writable = d.flags & VRING_DESC_F_WRITE;
  // Guest-controlled: ordering; 2.7.4.2 all device-readable descriptors come first.
  if (!writable && st.seen_writable) return ChainFault::readable_after_writable;
  // Guest-controlled: addr/len; contains() is overflow-safe and refuses holes and MMIO.
  if (!st.mem.contains(d.addr, d.len)) return ChainFault::buffer_outside_ram;
  // Guest-controlled: the running total, capped at 2^32 - 1 (used.len is 32-bit).
  st.total += d.len;
  if (st.total > kMaxChainBytes) return ChainFault::total_too_long;
  st.seen_writable = st.seen_writable || writable;
  st.out.descriptors.push_back({d.addr, d.len, writable});
  (writable ? st.out.writable_len : st.out.readable_len) += d.len;
  return ChainFault::none;
}

/// Walks the indirect table at [addr, addr+len): entries chained by NEXT from entry 0 (2.7.5.3.2).
ChainFault walk_indirect(WalkState& st, uint64_t addr, uint32_t len, uint32_t queue_size) {
  // Guest-controlled: the table length, a non-zero multiple of 16 with at most queue-size
  // entries (2.7.5.3.1: no chain longer than the queue size; this bounds both the walk and the
  // host memory for the chain), entirely inside RAM.
  if (len == 0 || len % sizeof(vring_desc) != 0) return ChainFault::indirect_bad_table;
  uint32_t count = len / static_cast<uint32_t>(sizeof(vring_desc));
  if (count > queue_size || !st.mem.contains(addr, len)) return ChainFault::indirect_bad_table;
  uint32_t idx = 0;
  for (uint32_t hops = 0;; ++hops) {
    // Guest-controlled: loops inside the table end after `count` hops.
    if (hops >= count) return ChainFault::too_long;
    auto d = st.mem.read_obj<vring_desc>(addr + uint64_t{idx} * sizeof(vring_desc));
    if (!d) return ChainFault::indirect_bad_table;  // unreachable: the table was checked
    if (d->flags & VRING_DESC_F_INDIRECT) return ChainFault::indirect_nested;
    if (ChainFault f = add_descriptor(st, *d); f != ChainFault::none) return f;
    if (!(d->flags & VRING_DESC_F_NEXT)) return ChainFault::none;
    // Guest-controlled: next, checked against the table's entry count.
    if (d->next >= count) return ChainFault::next_out_of_range;
    idx = d->next;
  }
}

}  // namespace

const char* describe(ChainFault f) noexcept {
  switch (f) {
    case ChainFault::none:
      return "none";
    case ChainFault::head_out_of_range:
      return "head >= queue size";
    case ChainFault::head_in_flight:
      return "head already in flight";
    case ChainFault::next_out_of_range:
      return "next out of range";
    case ChainFault::too_long:
      return "chain longer than allowed (loop)";
    case ChainFault::buffer_outside_ram:
      return "buffer outside guest RAM";
    case ChainFault::indirect_not_negotiated:
      return "INDIRECT not negotiated";
    case ChainFault::indirect_bad_table:
      return "bad indirect table";
    case ChainFault::indirect_nested:
      return "nested indirect table";
    case ChainFault::indirect_with_next:
      return "INDIRECT with NEXT";
    case ChainFault::readable_after_writable:
      return "readable descriptor after writable";
    case ChainFault::total_too_long:
      return "chain length above 2^32-1";
  }
  return "?";
}

ChainFault walk_chain(const GuestMemory& mem, const ChainWalkParams& p, uint16_t head,
                      DescriptorChain& out) {
  WalkState st{mem, out};
  uint32_t idx = head;
  for (uint32_t hops = 0;; ++hops) {
    // Guest-controlled: loops (A->B->A, self-loops) end after `size` hops (2.7.5.2).
    if (hops >= p.size) return ChainFault::too_long;
    // idx < size: head checked by the caller, every next below; the table was validated.
    auto d = mem.read_obj<vring_desc>(p.desc_table + uint64_t{idx} * sizeof(vring_desc));
    MINIVMM_ASSERT(d.has_value(), "validated descriptor table left guest RAM");
    // Guest-controlled: flags. The WRITE flag of an indirect descriptor is ignored (2.7.5.3.2).
    if (d->flags & VRING_DESC_F_INDIRECT) {
      if (!p.indirect) return ChainFault::indirect_not_negotiated;
      if (d->flags & VRING_DESC_F_NEXT) return ChainFault::indirect_with_next;
      return walk_indirect(st, d->addr, d->len, p.size);
    }
    if (ChainFault f = add_descriptor(st, *d); f != ChainFault::none) return f;
    if (!(d->flags & VRING_DESC_F_NEXT)) return ChainFault::none;
    // Guest-controlled: next, checked against the queue size before the next table read.
    if (d->next >= p.size) return ChainFault::next_out_of_range;
    idx = d->next;
  }
}

}  // namespace minivmm::virtio
