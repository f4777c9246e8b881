// MockSplitQueue: the driver side of a split virtqueue (virtio v1.2 2.7), for tests and fuzzers.
// It lays out the descriptor table, avail ring and used ring at chosen guest-physical addresses
// of a test GuestMemory, writes chains of (gpa, len, writable) buffers (optionally through an
// indirect table), publishes heads, sets the notification fields and reads back what the device
// wrote to the used ring. It also writes raw descriptors and indices for hostile cases. It does
// not check anything the device does; tests assert on what it reads back. Header-only.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "devices/virtio/ring_abi.hpp"
#include "devices/virtio/split_queue.hpp"
#include "vmm/memory/guest_memory.hpp"

namespace minivmm::virtio::test {

/// One buffer of a chain as the driver describes it.
struct Buf {
  uint64_t addr = 0;
  uint32_t len = 0;
  bool writable = false;
};

class MockSplitQueue {
 public:
  /// Rings at explicit addresses (desc 16-, avail 2-, used 4-aligned for a valid queue).
  MockSplitQueue(const GuestMemory& mem, uint16_t size, uint64_t desc, uint64_t avail,
                 uint64_t used)
      : m_mem(mem), m_size(size), m_desc(desc), m_avail(avail), m_used(used) {
    mem.fill_zero(desc, 16ull * size);
    mem.fill_zero(avail, 6 + 2ull * size);
    mem.fill_zero(used, 6 + 8ull * size);
  }
  /// Rings laid out back to back from `base` (which must be 16-aligned).
  MockSplitQueue(const GuestMemory& mem, uint16_t size, uint64_t base)
      : MockSplitQueue(mem, size, base, base + 16ull * size,
                       align4(base + 16ull * size + 6 + 2ull * size)) {}

  uint16_t size() const { return m_size; }
  uint64_t desc_table() const { return m_desc; }
  uint64_t avail_ring() const { return m_avail; }
  uint64_t used_ring() const { return m_used; }
  /// One past the last byte of the used ring (where test buffers can start).
  uint64_t end() const { return m_used + 6 + 8ull * m_size; }

  /// A device-side queue configured with this layout and validated with `features`.
  SplitQueue make_queue(uint64_t features = 0, uint16_t max_size = 0) const {
    SplitQueue q(max_size ? max_size : m_size);
    q.set_size(m_size);
    q.set_desc_table(m_desc);
    q.set_avail_ring(m_avail);
    q.set_used_ring(m_used);
    q.set_ready(true);
    q.validate(m_mem, {}, features);
    return q;
  }

  /// Raw descriptor write at table index `index`.
  void write_desc(uint16_t index, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next) {
    write_desc_at(m_desc + 16ull * index, addr, len, flags, next);
  }
  void write_desc_at(uint64_t gpa, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next) {
    vring_desc d{addr, len, flags, next};
    m_mem.write_obj(gpa, d);
  }

  /// Writes a chain into free table slots (allocated round-robin) and returns its head. Not
  /// published.
  uint16_t add_chain(std::initializer_list<Buf> bufs) { return add_chain(std::vector<Buf>(bufs)); }
  uint16_t add_chain(const std::vector<Buf>& bufs) {
    std::vector<uint16_t> slots;
    for (size_t i = 0; i < bufs.size(); ++i) slots.push_back(alloc());
    for (size_t i = 0; i < bufs.size(); ++i) {
      bool last = i + 1 == bufs.size();
      write_desc(slots[i], bufs[i].addr, bufs[i].len, flags_of(bufs[i], !last),
                 last ? 0 : slots[i + 1]);
    }
    return slots.empty() ? 0 : slots[0];
  }
  /// Writes `bufs` as an indirect table at `table_gpa` and one INDIRECT descriptor pointing at
  /// it; returns its head. Not published.
  uint16_t add_indirect_chain(uint64_t table_gpa, const std::vector<Buf>& bufs) {
    for (size_t i = 0; i < bufs.size(); ++i) {
      bool last = i + 1 == bufs.size();
      write_desc_at(table_gpa + 16 * i, bufs[i].addr, bufs[i].len, flags_of(bufs[i], !last),
                    static_cast<uint16_t>(last ? 0 : i + 1));
    }
    uint16_t head = alloc();
    write_desc(head, table_gpa, static_cast<uint32_t>(16 * bufs.size()), VRING_DESC_F_INDIRECT, 0);
    return head;
  }

  /// Puts `head` in the next avail slot and bumps avail.idx.
  void publish(uint16_t head) {
    m_mem.write_obj<uint16_t>(m_avail + 4 + 2ull * (m_avail_idx % m_size), head);
    ++m_avail_idx;
    m_mem.write_obj<uint16_t>(m_avail + 2, m_avail_idx);
  }
  /// Writes avail.idx directly (hostile cases; later publish() continues from it).
  void set_avail_idx(uint16_t idx) {
    m_avail_idx = idx;
    m_mem.write_obj<uint16_t>(m_avail + 2, idx);
  }
  uint16_t avail_idx() const { return m_avail_idx; }
  void set_avail_flags(uint16_t flags) { m_mem.write_obj<uint16_t>(m_avail, flags); }
  void set_used_event(uint16_t v) { m_mem.write_obj<uint16_t>(m_avail + 4 + 2ull * m_size, v); }

  uint16_t used_idx() const { return read16(m_used + 2); }
  uint16_t used_flags() const { return read16(m_used); }
  uint16_t avail_event() const { return read16(m_used + 4 + 8ull * m_size); }
  /// The used element at ring position `pos` (taken modulo the size).
  vring_used_elem used_elem(uint16_t pos) const {
    return m_mem.read_obj<vring_used_elem>(m_used + 4 + 8ull * (pos % m_size)).value();
  }
  /// Scribbles over the used ring (the device must not care).
  void scribble_used(uint8_t byte) {
    std::vector<uint8_t> junk(6 + 8ull * m_size, byte);
    m_mem.write(m_used, junk);
  }

 private:
  static uint64_t align4(uint64_t v) { return (v + 3) & ~uint64_t{3}; }
  static uint16_t flags_of(const Buf& b, bool next) {
    return static_cast<uint16_t>((b.writable ? VRING_DESC_F_WRITE : 0) |
                                 (next ? VRING_DESC_F_NEXT : 0));
  }
  uint16_t alloc() {
    uint16_t s = m_next_free;
    m_next_free = static_cast<uint16_t>((m_next_free + 1) % m_size);
    return s;
  }
  uint16_t read16(uint64_t gpa) const { return m_mem.read_obj<uint16_t>(gpa).value(); }

  const GuestMemory& m_mem;
  uint16_t m_size;
  uint64_t m_desc, m_avail, m_used;
  uint16_t m_avail_idx = 0;
  uint16_t m_next_free = 0;
};

}  // namespace minivmm::virtio::test
