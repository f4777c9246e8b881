// libFuzzer target for the virtio-blk request parser. The input becomes guest RAM contents
// (request headers, DISCARD/WRITE_ZEROES segments), a descriptor chain over that RAM (as
// SplitQueue::pop() would hand it over: every buffer inside RAM, readable before writable) and
// the negotiated limits. Invariants checked on every result: accepted requests only name
// buffers inside RAM of the right direction, stay within capacity without wrapping, and never
// write to a read-only disk; refusals name a status byte inside RAM that lies in a writable
// descriptor. Any crash, sanitizer report or broken invariant aborts.
//
// Input: u64 capacity | u8 flags (bit0 ro, bit1 discard, bit2 write_zeroes) | u8 n |
// n x { u16 addr, u16 len, u8 writable } | RAM bytes from gpa 0.
#include <cstdint>
#include <cstdlib>

#include "devices/block/block_request.hpp"
#include "tests/fuzz/fuzz_memory.hpp"

using namespace minivmm;
using namespace minivmm::block;
using virtio::DescriptorChain;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool in_writable_descriptor(const DescriptorChain& c, uint64_t addr) {
  for (const auto& d : c.descriptors)
    if (d.device_writable && addr >= d.addr && addr - d.addr < d.len) return true;
  return false;
}

void check_accepted(const BlockRequest& r, const DescriptorChain& c, const GuestMemory& mem,
                    const BlockLimits& limits) {
  check(mem.contains(r.status_addr, 1) && in_writable_descriptor(c, r.status_addr));
  const bool writes_disk = r.type == RequestType::out || r.type == RequestType::discard ||
                           r.type == RequestType::write_zeroes;
  check(!(writes_disk && limits.read_only));
  uint64_t total = 0;
  for (const GuestBuffer& b : r.data) {
    check(mem.contains(b.addr, b.len));
    total += b.len;
  }
  check(total == r.data_len);
  if (r.type == RequestType::in || r.type == RequestType::out) {
    check(r.data_len % 512 == 0);
    check(r.sector <= limits.capacity_sectors);
    check(r.data_len / 512 <= limits.capacity_sectors - r.sector);
  }
  for (const SectorRange& s : r.ranges) {
    check(s.sector <= limits.capacity_sectors);
    check(s.num_sectors <= limits.capacity_sectors - s.sector);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  virtio::fuzz::InputReader in(data, size);
  const GuestMemory& mem = virtio::fuzz::fuzz_memory();
  BlockLimits limits;
  limits.capacity_sectors = in.take<uint64_t>();
  uint8_t flags = in.take<uint8_t>();
  limits.read_only = flags & 1;
  limits.discard = flags & 2;
  limits.write_zeroes = flags & 4;
  limits.max_discard_sectors = limits.max_write_zeroes_sectors = 1u << 22;
  limits.max_discard_seg = limits.max_write_zeroes_seg = 32;

  DescriptorChain chain;
  uint8_t n = static_cast<uint8_t>(in.take<uint8_t>() % 16);
  bool seen_writable = false;
  for (uint8_t i = 0; i < n; ++i) {
    uint64_t addr = in.take<uint16_t>();
    uint32_t len = in.take<uint16_t>();
    bool writable = (in.take<uint8_t>() & 1) != 0;
    // Keep the chain the shape pop() guarantees: non-empty buffers inside RAM, readable first.
    if (len == 0 || !mem.contains(addr, len) || (seen_writable && !writable)) continue;
    seen_writable = seen_writable || writable;
    chain.descriptors.push_back({addr, len, writable});
    (writable ? chain.writable_len : chain.readable_len) += len;
  }
  auto ram = in.take_bytes(std::min<size_t>(in.left(), virtio::fuzz::kLowRamEnd));
  mem.write(0, ram);

  ParsedRequest parsed = parse_block_request(chain, mem, limits);
  if (parsed) {
    check_accepted(*parsed, chain, mem, limits);
  } else if (parsed.error().status_addr) {
    uint64_t status = *parsed.error().status_addr;
    check(mem.contains(status, 1) && in_writable_descriptor(chain, status));
  }
  return 0;
}
