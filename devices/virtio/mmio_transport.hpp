// MmioTransport: the virtio-mmio transport, version 2 only (virtio v1.2 4.2.2), as a BusDevice on
// the MMIO bus. It owns the register file (feature negotiation, queue configuration, Status with
// the 3.1.1 state machine, InterruptStatus/ACK through VirtioInterrupt, ConfigGeneration), the
// per-queue ioeventfd EventFds and the irqfd EventFd the machine handed in, and activation and
// reset of the device it drives. It forwards the config space at 0x100 to the device,
// bounds-checked. It does not process queues (the device does, on the event loop) and does not
// talk to KVM (the machine registers the ioeventfds at base + 0x50 with datamatch = queue index,
// and the irqfd). All register state is behind one mutex: accesses come from vCPU threads.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "devices/virtio/split_queue.hpp"
#include "devices/virtio/virtio_device.hpp"
#include "devices/virtio/virtio_interrupt.hpp"
#include "vmm/bus/bus.hpp"
#include "vmm/memory/guest_memory.hpp"
#include "vmm/sys/error.hpp"
#include "vmm/sys/event_fd.hpp"

namespace minivmm::virtio {

/// What the machine provides to build a transport.
struct MmioTransportParams {
  std::shared_ptr<VirtioDevice> device;
  /// Outlives the transport.
  const GuestMemory* memory = nullptr;
  /// The machine's event loop; outlives the transport.
  boost::asio::io_context* io = nullptr;
  /// Guest-physical windows no ring may overlap (all device MMIO windows, IOAPIC, LAPIC).
  std::vector<AddressRange> forbidden;
};

class MmioTransport final : public BusDevice {
 public:
  /// Magic "virt" (4.2.2), version 2, and our vendor id "MVMM" (little-endian ASCII).
  static constexpr uint32_t kMagic = 0x74726976;
  static constexpr uint32_t kVersion = 2;
  static constexpr uint32_t kVendorId = 0x4d4d564d;
  /// Registers (0x000-0x0ff) plus up to 0x100 bytes of config space.
  static constexpr uint64_t kWindowSize = 0x200;
  static constexpr uint64_t kConfigOffset = 0x100;

  /// `queue_events`: one per device queue (queue_max_sizes().size()), the ioeventfd targets,
  /// created with EFD_NONBLOCK. `irq`: the irqfd target for this device's GSI.
  /// Errors (invalid_config): null device/memory/io, a device without VIRTIO_F_VERSION_1, a queue
  /// maximum of 0 or above 32768, a config space larger than kWindowSize - 0x100, or a
  /// queue_events count different from the device's queue count.
  static Result<std::shared_ptr<MmioTransport>> create(MmioTransportParams params,
                                                       std::vector<EventFd> queue_events,
                                                       EventFd irq);
  /// Resets the device if it is active.
  ~MmioTransport() override;
  MmioTransport(const MmioTransport&) = delete;
  MmioTransport& operator=(const MmioTransport&) = delete;

  /// Guest accesses (vCPU threads). `offset` is relative to the window base.
  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  /// For the machine: register queue_event(i).fd() as ioeventfd at base + 0x50 (4 bytes,
  /// datamatch i), and irq_event().fd() as irqfd.
  size_t queue_count() const noexcept { return m_queue_events.size(); }
  const EventFd& queue_event(size_t index) const { return m_queue_events.at(index); }
  const EventFd& irq_event() const noexcept { return m_interrupt->irq_event(); }
  const std::shared_ptr<VirtioInterrupt>& interrupt() const noexcept { return m_interrupt; }

  /// The Status register as the driver reads it.
  uint32_t status() const;
  /// True between a successful activation and the next reset.
  bool activated() const;
  /// Resets the device as a guest write of 0 to Status would (the machine calls it when it shuts
  /// down, while the event loop the device uses still exists). Thread-safe.
  void reset_device();
  /// Re-reads the device's offered features, for a device whose features changed before any
  /// driver ran (a disk made read-only through the API). Thread-safe.
  void refresh_device_features();

 private:
  MmioTransport(MmioTransportParams params, std::vector<EventFd> queue_events, EventFd irq);
  uint32_t read_register(uint64_t offset) const;
  void write_register(uint64_t offset, uint32_t value);
  void write_queue_register(uint64_t offset, uint32_t value);
  void write_status(uint32_t value);
  bool features_acceptable() const;
  void activate();
  void reset();
  void read_config(uint64_t offset, std::span<uint8_t> data) const;
  void write_config(uint64_t offset, std::span<const uint8_t> data);
  SplitQueue* selected_queue();
  const SplitQueue* selected_queue() const;
  uint32_t status_locked() const;
  std::vector<SplitQueue> fresh_queues() const;

  mutable std::mutex m_mutex;
  std::shared_ptr<VirtioDevice> m_device;
  const GuestMemory& m_memory;
  boost::asio::io_context& m_io;
  std::vector<EventFd> m_queue_events;
  std::vector<AddressRange> m_forbidden;
  std::shared_ptr<VirtioInterrupt> m_interrupt;
  uint64_t m_device_features;

  uint32_t m_status = 0;
  bool m_activated = false;
  uint32_t m_device_features_sel = 0;
  uint32_t m_driver_features_sel = 0;
  uint64_t m_driver_features = 0;
  uint32_t m_queue_sel = 0;
  std::vector<SplitQueue> m_queues;  ///< driver-set configuration, frozen at DRIVER_OK
};

}  // namespace minivmm::virtio
