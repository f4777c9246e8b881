// SplitQueue: the device side of one split virtqueue (virtio v1.2 2.7): the driver-set
// configuration (size, ring addresses, ready), its validation at activation, and the ring
// protocol: pop() walks and validates the next available chain (2.7.5, indirect 2.7.5.3),
// add_used() publishes a completion (2.7.8), needs_notification() / enable_notification() /
// disable_notification() implement notification suppression with or without
// VIRTIO_RING_F_EVENT_IDX (2.7.7, 2.7.10). All guest memory is reached through GuestMemory; ring
// indices use std::atomic_ref acquire/release on the host mapping. It does not own threads,
// eventfds or interrupts (the device's event-loop handler and VirtioInterrupt do), it never
// touches the buffers a chain points at (devices do), and it is not thread-safe: one queue is
// driven by one thread at a time (the event loop after activation).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "devices/virtio/chain_walk.hpp"
#include "devices/virtio/descriptor_chain.hpp"
#include "vmm/memory/guest_memory.hpp"

namespace minivmm::virtio {

/// The largest split-queue size the spec allows (virtio v1.2 2.7: Queue Size <= 32768).
inline constexpr uint32_t kMaxQueueSize = 32768;

/// A guest-physical window no ring may overlap (device MMIO windows, the IOAPIC, ...).
struct AddressRange {
  uint64_t gpa = 0;
  uint64_t len = 0;
};

/// Why validate() refused a queue configuration. Guest misbehaviour, not an Error.
enum class QueueConfigError {
  ok = 0,
  bad_size,             ///< 0, not a power of two, or above the device maximum
  misaligned,           ///< desc not 16-, avail not 2-, used not 4-byte aligned (2.7)
  outside_ram,          ///< a ring is not entirely inside one guest RAM region
  in_forbidden_window,  ///< a ring overlaps an MMIO window
  not_ready,            ///< QueueReady is 0
};
const char* describe(QueueConfigError e) noexcept;

/// The outcome of pop().
enum class PopStatus {
  chain,      ///< `chain` holds a validated request; complete it with add_used(chain.head, len)
  empty,      ///< no new available entry (or the queue is not active)
  malformed,  ///< the chain is invalid; if `has_head_to_complete`, the device must return it
              ///< with add_used(head, 0) (after writing an error status where it has one)
  broken,     ///< the ring itself is corrupt: the device must enter DEVICE_NEEDS_RESET and stop
};

struct PopResult {
  PopStatus status = PopStatus::empty;
  DescriptorChain chain;                ///< valid when status == chain
  ChainFault fault = ChainFault::none;  ///< set when status == malformed
  bool has_head_to_complete = false;    ///< malformed: the device must add_used(head, 0)
  uint16_t head_to_complete = 0;
};

class SplitQueue {
 public:
  explicit SplitQueue(uint16_t max_size) : m_max_size(max_size) {}

  // --- driver-set configuration (MMIO transport registers, 4.2.2) ---
  void set_size(uint32_t size) noexcept { m_size = size; }
  void set_ready(bool ready) noexcept { m_ready = ready; }
  void set_desc_table(uint64_t gpa) noexcept { m_desc_gpa = gpa; }
  void set_avail_ring(uint64_t gpa) noexcept { m_avail_gpa = gpa; }
  void set_used_ring(uint64_t gpa) noexcept { m_used_gpa = gpa; }
  uint16_t max_size() const noexcept { return m_max_size; }
  uint32_t size() const noexcept { return m_size; }
  bool ready() const noexcept { return m_ready; }
  uint64_t desc_table() const noexcept { return m_desc_gpa; }
  uint64_t avail_ring() const noexcept { return m_avail_gpa; }
  uint64_t used_ring() const noexcept { return m_used_gpa; }

  /// Checks the configuration at DRIVER_OK: ready, size a power of two in 1..max_size(),
  /// alignments, each ring entirely inside one RAM region and outside every `forbidden` window
  /// (overflow-safe). On success the queue becomes active with the negotiated `features`
  /// (VIRTIO_RING_F_INDIRECT_DESC, VIRTIO_RING_F_EVENT_IDX) and its indices start at 0.
  QueueConfigError validate(const GuestMemory& mem, std::span<const AddressRange> forbidden,
                            uint64_t features);
  bool active() const noexcept { return m_active; }

  // --- ring protocol (active queues only; one thread) ---
  /// Takes the next available chain. Once broken, every later pop() reports broken.
  PopResult pop(const GuestMemory& mem);
  /// Returns `head` to the driver with `len` bytes written: writes the used element, then
  /// publishes used.idx with release semantics. False (nothing written) when the queue is not
  /// active or `head` is not in flight (never completes a head twice).
  bool add_used(const GuestMemory& mem, uint16_t head, uint32_t len);
  /// After add_used(): must the driver be interrupted? (2.7.7.2, 2.7.10)
  bool needs_notification(const GuestMemory& mem);
  /// Asks the driver to kick again (avail_event = next index, or clears VRING_USED_F_NO_NOTIFY).
  /// Returns true when entries are already available, so the caller must pop again.
  bool enable_notification(const GuestMemory& mem);
  /// Asks the driver not to kick (sets VRING_USED_F_NO_NOTIFY; a no-op with EVENT_IDX).
  void disable_notification(const GuestMemory& mem);

  /// Resumes the ring protocol of an active queue from indices another party left it at (taking
  /// a queue over from a vhost-user backend that died: both from the used.idx it last
  /// published). Nothing is in flight afterwards, the broken flag is cleared and the next
  /// needs_notification() returns true. A later pop() still checks avail.idx against
  /// `next_avail`. False (nothing changed) when the queue is not active.
  bool restore_indices(uint16_t next_avail, uint16_t next_used) noexcept;

  uint16_t next_avail() const noexcept { return m_next_avail; }
  uint16_t next_used() const noexcept { return m_next_used; }
  bool broken() const noexcept { return m_broken; }
  uint32_t in_flight() const noexcept { return m_in_flight_count; }
  uint64_t malformed_count() const noexcept { return m_malformed; }

 private:
  PopResult malformed(ChainFault f, uint16_t head, bool completable);
  uint16_t read_avail_idx(const GuestMemory& mem) const;
  bool is_in_flight(uint16_t head) const noexcept;
  void set_in_flight(uint16_t head, bool on) noexcept;

  uint16_t m_max_size;
  uint32_t m_size = 0;
  bool m_ready = false;
  uint64_t m_desc_gpa = 0;
  uint64_t m_avail_gpa = 0;
  uint64_t m_used_gpa = 0;

  bool m_active = false;
  bool m_indirect = false;
  bool m_event_idx = false;
  bool m_broken = false;
  uint16_t m_next_avail = 0;      ///< next avail ring entry to pop
  uint16_t m_next_used = 0;       ///< host copy of used.idx; never read back from the guest
  uint16_t m_signalled_used = 0;  ///< used.idx at the last needs_notification() == true
  bool m_signalled_valid = false;
  std::vector<uint64_t> m_in_flight;  ///< bitset of heads popped and not yet completed
  uint32_t m_in_flight_count = 0;
  uint64_t m_malformed = 0;
};

}  // namespace minivmm::virtio
