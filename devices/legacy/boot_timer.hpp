// BootTimer: the boot-timer I/O port, through which a guest marks boot milestones. It owns the
// timestamping of each write (nanoseconds since process exec and since machine creation), a
// bounded history of the events, and the hand-off to an embedder callback. It deliberately does
// not decide what the values mean beyond the reserved ones below, nor log anything (the CLI logs
// every event from the callback), nor know where the reference time points come from.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <vector>

#include <minivmm/machine.hpp>

#include "vmm/bus/bus.hpp"

namespace minivmm {

/// The boot-timer port. A guest writes one byte: `outb(value, 0x440)`. The window is 4 ports
/// wide so that outw/outl to 0x440 also land here; only the low byte of a write at 0x440 counts,
/// writes to 0x441-0x443 are ignored. 0x440 is unassigned on the PC and in Linux's
/// /proc/ioports on KVM guests.
inline constexpr uint16_t kBootTimerPort = 0x440;
inline constexpr uint64_t kBootTimerPortSize = 4;

/// Value conventions. 0x40: the kernel reached early boot (reserved for a patched or future
/// kernel; Linux itself never writes the port). 0x41: userspace init started (an init script
/// writes it). All other values are free for the guest's own milestones.
inline constexpr uint8_t kBootTimerKernelEarlyBoot = 0x40;
inline constexpr uint8_t kBootTimerUserspaceInit = 0x41;

/// The boot-timer device. Writes come from vCPU threads and are serialised by one mutex; the
/// callback runs after it is released.
class BootTimer final : public BusDevice {
 public:
  using Clock = std::chrono::steady_clock;
  /// Called on the vCPU thread for every write, including ones past the history bound; calls
  /// from different vCPUs may overlap. Must not block long and must not call back into this
  /// device. May be empty.
  using Callback = std::function<void(const BootTimerEvent&)>;

  static constexpr size_t kDefaultMaxEvents = 1024;

  /// `process_start` and `machine_created` are the references for BootTimerEvent::since_exec
  /// and since_create (see process_start_time()). At most `max_events` events are retained.
  BootTimer(Clock::time_point process_start, Clock::time_point machine_created, Callback on_event,
            size_t max_events = kDefaultMaxEvents);

  /// Reads return 0 in every byte.
  void read(uint64_t offset, std::span<uint8_t> data) override;
  /// A write at offset 0 records its low byte with both timestamps; other offsets are ignored.
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  /// The retained events, oldest first (a copy).
  std::vector<BootTimerEvent> events() const;
  /// Events reported to the callback but not retained because the history was full.
  uint64_t overflowed() const;

 private:
  const Clock::time_point m_process_start;
  const Clock::time_point m_machine_created;
  const Callback m_on_event;
  const size_t m_max_events;

  mutable std::mutex m_mutex;  // guards everything below
  std::vector<BootTimerEvent> m_events;
  uint64_t m_overflowed = 0;
};

}  // namespace minivmm
