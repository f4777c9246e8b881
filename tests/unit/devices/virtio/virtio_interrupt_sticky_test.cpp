// Unit tests of VirtioInterrupt's sticky VRING mode (vhost-user backends signal the irqfd
// directly): InterruptStatus reads VIRTIO_MMIO_INT_VRING while it is on, acks do not clear it,
// config bits still come and go, it signals nothing by itself, and it ends with the mode off or
// a device reset.
#include <linux/virtio_mmio.h>
#include <sys/eventfd.h>

#include <doctest/doctest.h>

#include "devices/virtio/virtio_interrupt.hpp"

namespace minivmm::virtio {
namespace {

VirtioInterrupt make() {
  return VirtioInterrupt(EventFd::create(EFD_NONBLOCK).value());
}

TEST_CASE("virtio interrupt sticky: off by default") {
  VirtioInterrupt irq = make();
  CHECK_FALSE(irq.vring_status_sticky());
  CHECK(irq.status() == 0);
}

TEST_CASE("virtio interrupt sticky: VRING reads set and survives acks, without a signal") {
  VirtioInterrupt irq = make();
  irq.set_vring_status_sticky(true);
  CHECK(irq.status() == VIRTIO_MMIO_INT_VRING);
  irq.ack(VIRTIO_MMIO_INT_VRING);
  CHECK(irq.status() == VIRTIO_MMIO_INT_VRING);
  CHECK(irq.irq_event().consume() == 0);
  CHECK(irq.signal_count() == 0);
}

TEST_CASE("virtio interrupt sticky: config bits are still raised and acknowledged") {
  VirtioInterrupt irq = make();
  irq.set_vring_status_sticky(true);
  irq.signal_config_change();
  CHECK(irq.status() == (VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG));
  irq.ack(VIRTIO_MMIO_INT_CONFIG | VIRTIO_MMIO_INT_VRING);
  CHECK(irq.status() == VIRTIO_MMIO_INT_VRING);
}

TEST_CASE("virtio interrupt sticky: turning it off or a reset ends the mode") {
  VirtioInterrupt irq = make();
  irq.set_vring_status_sticky(true);
  irq.set_vring_status_sticky(false);
  CHECK(irq.status() == 0);
  irq.set_vring_status_sticky(true);
  irq.reset();
  CHECK_FALSE(irq.vring_status_sticky());
  CHECK(irq.status() == 0);
}

}  // namespace
}  // namespace minivmm::virtio
