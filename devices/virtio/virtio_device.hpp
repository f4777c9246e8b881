// VirtioDevice: the interface a virtio device (blk, net, vsock, fs) offers the transport that
// drives it, and Activation, what the device receives at DRIVER_OK. The transport
// (mmio_transport.hpp) owns feature negotiation, the status state machine and queue
// configuration; the device owns its config space, its request processing on the machine's
// event loop and its workers. It knows nothing about KVM or MMIO: the machine registers the
// ioeventfds and irqfd and hands their EventFds to the transport, which passes them on here.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "devices/virtio/split_queue.hpp"
#include "devices/virtio/virtio_interrupt.hpp"
#include "vmm/memory/guest_memory.hpp"
#include "vmm/sys/error.hpp"
#include "vmm/sys/event_fd.hpp"

namespace minivmm::virtio {

/// Everything a device needs to run, handed over once per activation (virtio v1.2 3.1.1 step 8).
/// References stay valid until the device's reset() returns.
struct Activation {
  const GuestMemory& memory;
  /// One per queue the device declared, in order. Queues the driver did not make ready are
  /// inactive (pop() returns empty); ready ones were validated.
  std::vector<SplitQueue> queues;
  /// The ioeventfd targets, one per queue: wait on them on `io` (e.g. with
  /// boost::asio::posix::stream_descriptor on a dup() of fd(), or assign() + release() in
  /// reset()); the transport owns them.
  std::span<const EventFd> queue_events;
  uint64_t acked_features = 0;
  std::shared_ptr<VirtioInterrupt> interrupt;
  boost::asio::io_context& io;
};

class VirtioDevice {
 public:
  virtual ~VirtioDevice() = default;

  /// VIRTIO_ID_* (<linux/virtio_ids.h>).
  virtual uint32_t device_type() const = 0;
  /// Offered feature bits; must include VIRTIO_F_VERSION_1.
  virtual uint64_t features() const = 0;
  /// QueueNumMax of each queue; the size of the span is the number of queues.
  virtual std::span<const uint16_t> queue_max_sizes() const = 0;
  /// An extra consistency check of the driver's feature set before FEATURES_OK is accepted
  /// (the transport has already checked that it is a subset of features() with VERSION_1).
  virtual bool accept_features(uint64_t /*acked*/) const { return true; }

  /// Size of the device-specific configuration space in bytes.
  virtual size_t config_size() const = 0;
  /// Config space accesses; the transport guarantees offset + data.size() <= config_size().
  /// write_config ignores read-only fields itself. Called on vCPU threads under the transport's
  /// lock: must not block.
  virtual void read_config(uint64_t offset, std::span<uint8_t> data) const = 0;
  virtual void write_config(uint64_t offset, std::span<const uint8_t> data) = 0;

  /// Starts the device (called once per DRIVER_OK, on a vCPU thread). An error leaves the device
  /// inactive; the transport then sets DEVICE_NEEDS_RESET. The device reports later broken
  /// queues with activation.interrupt->signal_needs_reset().
  virtual Result<void> activate(Activation activation) = 0;
  /// Stops the device (called on a vCPU thread only after a successful activate()). When it
  /// returns, no worker or event-loop handler touches guest memory or the used rings any more and
  /// the Activation (queues, eventfds, interrupt) has been released.
  virtual void reset() = 0;
  /// A QueueNotify write that reached the transport instead of an ioeventfd (only while
  /// activated). Must not block; typically signals activation.queue_events[queue_index].
  virtual void notify(uint16_t queue_index) = 0;
};

}  // namespace minivmm::virtio
