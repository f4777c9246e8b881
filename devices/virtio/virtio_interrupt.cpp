// Implementation of VirtioInterrupt: atomic InterruptStatus bits and the irqfd signal.
#include "devices/virtio/virtio_interrupt.hpp"

#include <linux/virtio_mmio.h>

namespace minivmm::virtio {

void VirtioInterrupt::raise(uint32_t bit) noexcept {
  // The status bit is visible before the guest can observe the interrupt.
  m_status.fetch_or(bit, std::memory_order_acq_rel);
  m_signals.fetch_add(1, std::memory_order_relaxed);
  m_irq.signal();
}

uint32_t VirtioInterrupt::status() const noexcept {
  uint32_t sticky = m_vring_sticky.load(std::memory_order_acquire) ? VIRTIO_MMIO_INT_VRING : 0;
  return m_status.load(std::memory_order_acquire) | sticky;
}

void VirtioInterrupt::signal_used_queue() noexcept {
  raise(VIRTIO_MMIO_INT_VRING);
}

void VirtioInterrupt::signal_config_change() noexcept {
  m_generation.fetch_add(1, std::memory_order_acq_rel);
  raise(VIRTIO_MMIO_INT_CONFIG);
}

void VirtioInterrupt::signal_needs_reset() noexcept {
  m_needs_reset.store(true, std::memory_order_release);
  raise(VIRTIO_MMIO_INT_CONFIG);
  // Once per interrupt object: a guest that keeps breaking its queues is reported once.
  if (m_on_needs_reset && !m_needs_reset_reported.exchange(true, std::memory_order_acq_rel))
    m_on_needs_reset();
}

void VirtioInterrupt::ack(uint32_t bits) noexcept {
  // Guest-controlled: bits; only the two defined bits can be cleared.
  m_status.fetch_and(~(bits & (VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG)),
                     std::memory_order_acq_rel);
}

void VirtioInterrupt::reset() noexcept {
  m_status.store(0, std::memory_order_release);
  m_needs_reset.store(false, std::memory_order_release);
  m_vring_sticky.store(false, std::memory_order_release);
}

}  // namespace minivmm::virtio
