// Implementation of SplitQueue: configuration checks, the avail/used ring and notification
// protocol (the chain walk itself is chain_walk.cpp) of a split virtqueue (virtio v1.2 2.7). Ring
// layout, with N = size:
//   desc table  16 * N bytes, 16-aligned (2.7.5)
//   avail ring  flags u16, idx u16, ring[N] u16, used_event u16  (6 + 2N, 2-aligned, 2.7.6)
//   used ring   flags u16, idx u16, ring[N] {u32 id, u32 len}, avail_event u16 (6 + 8N, 2.7.8)
// The fields are read at computed offsets: the uapi structs end in flexible arrays whose size
// differs in C++. Everything read from the rings and descriptors is guest-controlled.
#include "devices/virtio/split_queue.hpp"

#include "devices/virtio/ring_abi.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <bit>

#include "vmm/sys/rate_limit.hpp"

namespace minivmm::virtio {
namespace {

constexpr uint64_t kAvailRingOffset = 4;  // after flags, idx
constexpr uint64_t kUsedRingOffset = 4;
constexpr uint64_t kIdxOffset = 2;

uint64_t desc_table_bytes(uint32_t n) {
  return 16ull * n;
}
uint64_t avail_ring_bytes(uint32_t n) {
  return 6 + 2ull * n;
}
uint64_t used_ring_bytes(uint32_t n) {
  return 6 + 8ull * n;
}

/// Overflow-safe: does [a, a+alen) intersect [b, b+blen)?
bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen) {
  if (alen == 0 || blen == 0) return false;
  if (a <= b) return b - a < alen;
  return a - b < blen;
}

/// The u16 at `gpa` as an atomic object on the host mapping. The caller guarantees (validated
/// at activation) that gpa is 2-aligned and inside one RAM region, so slice() cannot fail.
std::atomic_ref<uint16_t> ring_u16(const GuestMemory& mem, uint64_t gpa) {
  auto s = mem.slice(gpa, sizeof(uint16_t));
  MINIVMM_ASSERT(s.has_value(), "validated ring field left guest RAM");
  return std::atomic_ref<uint16_t>(*reinterpret_cast<uint16_t*>(s->data()));
}

/// One limiter for every queue: a hostile guest cannot flood the log through many queues.
RateLimiter& log_limit() {
  static RateLimiter limiter{10};
  return limiter;
}

}  // namespace

const char* describe(QueueConfigError e) noexcept {
  switch (e) {
    case QueueConfigError::ok:
      return "ok";
    case QueueConfigError::bad_size:
      return "size is 0, not a power of two or above the maximum";
    case QueueConfigError::misaligned:
      return "a ring is misaligned";
    case QueueConfigError::outside_ram:
      return "a ring is not inside one RAM region";
    case QueueConfigError::in_forbidden_window:
      return "a ring overlaps an MMIO window";
    case QueueConfigError::not_ready:
      return "queue not ready";
  }
  return "?";
}

QueueConfigError SplitQueue::validate(const GuestMemory& mem,
                                      std::span<const AddressRange> forbidden, uint64_t features) {
  m_active = false;
  if (!m_ready) return QueueConfigError::not_ready;
  // Guest-controlled: m_size, bounded here to a power of two in 1..min(max, 32768).
  if (m_size == 0 || m_size > m_max_size || m_size > kMaxQueueSize || !std::has_single_bit(m_size))
    return QueueConfigError::bad_size;
  // Guest-controlled: the three ring addresses; alignment per 2.7 table "Virtqueue Part".
  if (m_desc_gpa % 16 || m_avail_gpa % 2 || m_used_gpa % 4) return QueueConfigError::misaligned;
  const struct {
    uint64_t gpa, len;
  } rings[] = {{m_desc_gpa, desc_table_bytes(m_size)},
               {m_avail_gpa, avail_ring_bytes(m_size)},
               {m_used_gpa, used_ring_bytes(m_size)}};
  for (const auto& r : rings) {
    // Guest-controlled: slice() refuses ranges that overflow, leave RAM or cross regions.
    if (!mem.slice(r.gpa, r.len)) return QueueConfigError::outside_ram;
    for (const auto& w : forbidden)
      if (overlaps(r.gpa, r.len, w.gpa, w.len)) return QueueConfigError::in_forbidden_window;
  }
  m_indirect = features & (1ull << VIRTIO_RING_F_INDIRECT_DESC);
  m_event_idx = features & (1ull << VIRTIO_RING_F_EVENT_IDX);
  m_broken = false;
  m_next_avail = m_next_used = m_signalled_used = 0;
  m_signalled_valid = false;
  m_in_flight.assign((m_size + 63) / 64, 0);
  m_in_flight_count = 0;
  m_active = true;
  return QueueConfigError::ok;
}

bool SplitQueue::restore_indices(uint16_t next_avail, uint16_t next_used) noexcept {
  if (!m_active) return false;
  m_next_avail = next_avail;
  m_next_used = m_signalled_used = next_used;
  m_signalled_valid = false;
  std::fill(m_in_flight.begin(), m_in_flight.end(), 0);
  m_in_flight_count = 0;
  m_broken = false;
  return true;
}

bool SplitQueue::is_in_flight(uint16_t head) const noexcept {
  return (m_in_flight[head / 64] >> (head % 64)) & 1;
}

void SplitQueue::set_in_flight(uint16_t head, bool on) noexcept {
  uint64_t bit = 1ull << (head % 64);
  if (on) {
    m_in_flight[head / 64] |= bit;
    ++m_in_flight_count;
  } else {
    m_in_flight[head / 64] &= ~bit;
    --m_in_flight_count;
  }
}

uint16_t SplitQueue::read_avail_idx(const GuestMemory& mem) const {
  // Acquire: ring entries and descriptors published before idx are visible after it (2.7.13).
  return ring_u16(mem, m_avail_gpa + kIdxOffset).load(std::memory_order_acquire);
}

PopResult SplitQueue::malformed(ChainFault f, uint16_t head, bool completable) {
  ++m_malformed;
  if (log_limit().allow())
    spdlog::warn("virtqueue: malformed chain head={}: {} (total {})", head, describe(f),
                 m_malformed);
  PopResult r;
  r.status = PopStatus::malformed;
  r.fault = f;
  if (completable) {
    set_in_flight(head, true);
    r.has_head_to_complete = true;
    r.head_to_complete = head;
  }
  return r;
}

PopResult SplitQueue::pop(const GuestMemory& mem) {
  PopResult r;
  if (!m_active) return r;
  if (m_broken) {
    r.status = PopStatus::broken;
    return r;
  }
  uint16_t avail_idx = read_avail_idx(mem);
  // Guest-controlled: avail.idx; more than size ahead (which includes moving backwards, modulo
  // 2^16) means a corrupt ring: broken, never reprocessed (2.7.13.3 the driver adds <= size).
  uint16_t pending = static_cast<uint16_t>(avail_idx - m_next_avail);
  if (pending > m_size) {
    if (log_limit().allow())
      spdlog::warn("virtqueue: avail.idx {} is {} ahead of {}: queue broken", avail_idx, pending,
                   m_next_avail);
    m_broken = true;
    r.status = PopStatus::broken;
    return r;
  }
  if (pending == 0) return r;
  uint64_t slot = m_next_avail % m_size;
  auto head_v = mem.read_obj<uint16_t>(m_avail_gpa + kAvailRingOffset + 2 * slot);
  MINIVMM_ASSERT(head_v.has_value(), "validated avail ring left guest RAM");
  ++m_next_avail;
  // Guest-controlled: head, checked against the queue size and the in-flight set.
  uint16_t head = *head_v;
  if (head >= m_size) return malformed(ChainFault::head_out_of_range, head, false);
  if (is_in_flight(head)) return malformed(ChainFault::head_in_flight, head, false);
  r.chain.head = head;
  ChainFault f = walk_chain(mem, {m_desc_gpa, m_size, m_indirect}, head, r.chain);
  if (f != ChainFault::none) return malformed(f, head, true);
  set_in_flight(head, true);
  r.status = PopStatus::chain;
  return r;
}

bool SplitQueue::add_used(const GuestMemory& mem, uint16_t head, uint32_t len) {
  if (!m_active || head >= m_size || !is_in_flight(head)) return false;
  uint64_t slot = m_next_used % m_size;
  vring_used_elem elem{head, len};
  bool ok = mem.write_obj(m_used_gpa + kUsedRingOffset + 8 * slot, elem);
  MINIVMM_ASSERT(ok, "validated used ring left guest RAM");
  set_in_flight(head, false);
  ++m_next_used;
  // Release: the element is visible before the index that publishes it (2.7.8).
  ring_u16(mem, m_used_gpa + kIdxOffset).store(m_next_used, std::memory_order_release);
  return true;
}

bool SplitQueue::needs_notification(const GuestMemory& mem) {
  if (!m_active) return false;
  // The used.idx store must be visible before we read the driver's suppression fields
  // (2.7.7.2; the device-side counterpart of the driver's mb() in virtqueue_kick_prepare).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (!m_event_idx) {
    // Guest-controlled: avail.flags, only its NO_INTERRUPT bit is used.
    uint16_t flags = ring_u16(mem, m_avail_gpa).load(std::memory_order_acquire);
    return !(flags & VRING_AVAIL_F_NO_INTERRUPT);
  }
  uint16_t old = m_signalled_used;
  bool valid = m_signalled_valid;
  m_signalled_used = m_next_used;
  m_signalled_valid = true;
  if (!valid) return true;
  // Guest-controlled: used_event, any value is meaningful modulo 2^16 (vring_need_event).
  uint16_t used_event =
      ring_u16(mem, m_avail_gpa + kAvailRingOffset + 2ull * m_size).load(std::memory_order_acquire);
  return static_cast<uint16_t>(m_next_used - used_event - 1) <
         static_cast<uint16_t>(m_next_used - old);
}

bool SplitQueue::enable_notification(const GuestMemory& mem) {
  if (!m_active || m_broken) return false;
  if (m_event_idx) {
    ring_u16(mem, m_used_gpa + kUsedRingOffset + 8ull * m_size)
        .store(m_next_avail, std::memory_order_release);
  } else {
    // used.flags is written whole from host state, never read back.
    ring_u16(mem, m_used_gpa).store(0, std::memory_order_release);
  }
  // The store above must be visible before we re-check avail.idx, or a kick can be lost.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  return read_avail_idx(mem) != m_next_avail;
}

void SplitQueue::disable_notification(const GuestMemory& mem) {
  if (!m_active || m_event_idx) return;
  ring_u16(mem, m_used_gpa).store(VRING_USED_F_NO_NOTIFY, std::memory_order_release);
}

}  // namespace minivmm::virtio
