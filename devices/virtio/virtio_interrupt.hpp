// VirtioInterrupt: the interrupt side of one virtio-mmio device (virtio v1.2 4.2.2
// InterruptStatus/InterruptACK, 4.2.3.4 notifications): the InterruptStatus bits
// (VIRTIO_MMIO_INT_VRING, VIRTIO_MMIO_INT_CONFIG), the irqfd EventFd it signals, the
// ConfigGeneration counter, and the device's DEVICE_NEEDS_RESET request, which the transport
// folds into the Status register (so a device can report a broken queue from the event loop
// without taking the transport's lock). Thread-safe: the event loop signals, vCPU threads read
// and acknowledge. It does not register the irqfd with KVM (the machine does) and does not decide
// when to notify (SplitQueue::needs_notification does).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

#include "vmm/sys/event_fd.hpp"

namespace minivmm::virtio {

class VirtioInterrupt {
 public:
  /// `irq` is the eventfd the machine registered as an irqfd for this device's GSI.
  explicit VirtioInterrupt(EventFd irq) : m_irq(std::move(irq)) {}

  /// Used buffers were added to a queue: sets VIRTIO_MMIO_INT_VRING and signals the irqfd.
  void signal_used_queue() noexcept;
  /// The device configuration changed: bumps ConfigGeneration, sets VIRTIO_MMIO_INT_CONFIG and
  /// signals the irqfd (4.2.2: config interrupts and generation).
  void signal_config_change() noexcept;
  /// The device hit an unrecoverable guest error (broken queue, activation failure): Status
  /// will read DEVICE_NEEDS_RESET, and a configuration-change interrupt is raised (2.1.2).
  void signal_needs_reset() noexcept;

  /// Called once, on the thread that first sets DEVICE_NEEDS_RESET (the machine reports it as a
  /// device error). Set before the device is used; must not block or call back into this object.
  void set_on_needs_reset(std::function<void()> cb) { m_on_needs_reset = std::move(cb); }

  /// InterruptStatus register value (with VIRTIO_MMIO_INT_VRING forced on in sticky mode).
  uint32_t status() const noexcept;
  /// Sticky VRING mode, for devices whose used-buffer interrupts bypass signal_used_queue(): a
  /// vhost-user backend writes the irqfd directly, so the VRING bit would never be set and Linux's
  /// vm_interrupt() (drivers/virtio/virtio_mmio.c) would not scan the rings. While on,
  /// InterruptStatus always reads VIRTIO_MMIO_INT_VRING set; ack() and the stored bits are
  /// unaffected. Off by default; reset() turns it off.
  void set_vring_status_sticky(bool on) noexcept {
    m_vring_sticky.store(on, std::memory_order_release);
  }
  bool vring_status_sticky() const noexcept {
    return m_vring_sticky.load(std::memory_order_acquire);
  }
  /// InterruptACK: clears the given bits (other bits of `bits` are ignored).
  void ack(uint32_t bits) noexcept;
  uint32_t config_generation() const noexcept {
    return m_generation.load(std::memory_order_acquire);
  }
  bool needs_reset() const noexcept { return m_needs_reset.load(std::memory_order_acquire); }
  /// Device reset: clears InterruptStatus, the needs-reset request and sticky VRING mode (the
  /// generation stays).
  void reset() noexcept;

  const EventFd& irq_event() const noexcept { return m_irq; }
  /// How many times the irqfd was signalled (tests and statistics).
  uint64_t signal_count() const noexcept { return m_signals.load(std::memory_order_relaxed); }

 private:
  void raise(uint32_t bit) noexcept;

  EventFd m_irq;
  std::atomic<uint32_t> m_status{0};
  std::atomic<uint32_t> m_generation{0};
  std::atomic<bool> m_needs_reset{false};
  std::atomic<bool> m_vring_sticky{false};
  std::atomic<uint64_t> m_signals{0};
  std::atomic<bool> m_needs_reset_reported{false};
  std::function<void()> m_on_needs_reset;
};

}  // namespace minivmm::virtio
