// libFuzzer target for SplitQueue and the chain walk. The input becomes a queue configuration,
// the contents of guest RAM (rings, descriptors, indirect tables) and a script of 16-bit driver
// writes applied between pops. The loop pops, checks every popped buffer lies inside RAM,
// completes chains (and malformed heads) with add_used, and exercises the notification calls.
// Iterations are bounded; any crash, sanitizer report or broken invariant aborts.
//
// Input: u16 size | u32 desc | u32 avail | u32 used | u8 features (bit0 INDIRECT, bit1
// EVENT_IDX) | u16 n | n bytes of RAM from gpa 0 | { u16 gpa, u16 value } ops.
#include <cstdint>
#include <cstdlib>

#include "devices/virtio/ring_abi.hpp"
#include "devices/virtio/split_queue.hpp"
#include "tests/fuzz/fuzz_memory.hpp"

using namespace minivmm;
using namespace minivmm::virtio;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void check_chain(const GuestMemory& mem, const DescriptorChain& c, uint32_t size) {
  check(c.head < size);
  uint64_t readable = 0, writable = 0;
  bool seen_writable = false;
  for (const Descriptor& d : c.descriptors) {
    check(d.len != 0 && mem.contains(d.addr, d.len));
    check(d.device_writable || !seen_writable);
    seen_writable = seen_writable || d.device_writable;
    (d.device_writable ? writable : readable) += d.len;
  }
  check(readable == c.readable_len && writable == c.writable_len);
  check(readable + writable <= UINT32_MAX);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::InputReader in(data, size);
  const GuestMemory& mem = fuzz::fuzz_memory();
  SplitQueue q(1024);
  q.set_size(in.take<uint16_t>());
  q.set_desc_table(in.take<uint32_t>());
  q.set_avail_ring(in.take<uint32_t>());
  q.set_used_ring(in.take<uint32_t>());
  q.set_ready(true);
  uint8_t f = in.take<uint8_t>();
  uint64_t features = ((f & 1) ? 1ull << VIRTIO_RING_F_INDIRECT_DESC : 0) |
                      ((f & 2) ? 1ull << VIRTIO_RING_F_EVENT_IDX : 0);
  auto ram = in.take_bytes(std::min<size_t>(in.take<uint16_t>(), fuzz::kLowRamEnd));
  mem.write(0, ram);
  AddressRange forbidden[] = {{0x7000, 0x100}};
  if (q.validate(mem, forbidden, features) != QueueConfigError::ok) return 0;

  uint32_t completed = 0;
  for (int iter = 0; iter < 256; ++iter) {
    if (in.left() >= 4) {
      uint16_t gpa = in.take<uint16_t>();
      uint16_t value = in.take<uint16_t>();
      if (gpa == 0xffff) {
        value & 1 ? q.disable_notification(mem) : (void)q.enable_notification(mem);
      } else {
        mem.write_obj(gpa, value);  // refused outside RAM, like any driver write
      }
    }
    PopResult r = q.pop(mem);
    if (r.status == PopStatus::broken) break;
    if (r.status == PopStatus::empty) {
      if (in.left() < 4) break;
      continue;
    }
    if (r.status == PopStatus::chain) {
      check_chain(mem, r.chain, q.size());
      // Complete every other chain now; leave the rest in flight to exercise duplicates.
      if (iter % 2 == 0) {
        check(q.add_used(mem, r.chain.head, static_cast<uint32_t>(r.chain.writable_len)));
        check(!q.add_used(mem, r.chain.head, 0));
        ++completed;
      }
    } else if (r.has_head_to_complete) {
      check(q.add_used(mem, r.head_to_complete, 0));
      ++completed;
    }
    check(q.in_flight() <= q.size());
    (void)q.needs_notification(mem);
  }
  check(q.next_used() == static_cast<uint16_t>(completed));
  return 0;
}
