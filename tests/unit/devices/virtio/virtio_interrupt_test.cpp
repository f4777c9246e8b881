// Unit tests of VirtioInterrupt: InterruptStatus bits, the irqfd signal, acknowledgement,
// ConfigGeneration, the needs-reset request, reset, and concurrent use.
#include "devices/virtio/virtio_interrupt.hpp"

#include <linux/virtio_mmio.h>
#include <sys/eventfd.h>

#include <thread>
#include <vector>

#include <doctest/doctest.h>

namespace minivmm::virtio {
namespace {

VirtioInterrupt make() {
  return VirtioInterrupt(EventFd::create(EFD_NONBLOCK).value());
}

TEST_CASE("virtio interrupt: signal_used_queue sets the VRING bit and signals the irqfd") {
  VirtioInterrupt irq = make();
  irq.signal_used_queue();
  CHECK(irq.status() == VIRTIO_MMIO_INT_VRING);
  CHECK(irq.irq_event().consume() == 1);
  CHECK(irq.signal_count() == 1);
}

TEST_CASE("virtio interrupt: signal_config_change sets the CONFIG bit and bumps the generation") {
  VirtioInterrupt irq = make();
  uint32_t gen = irq.config_generation();
  irq.signal_config_change();
  CHECK(irq.status() == VIRTIO_MMIO_INT_CONFIG);
  CHECK(irq.config_generation() == gen + 1);
  CHECK(irq.irq_event().consume() == 1);
}

TEST_CASE("virtio interrupt: ack clears only the acknowledged defined bits") {
  VirtioInterrupt irq = make();
  irq.signal_used_queue();
  irq.signal_config_change();
  irq.ack(VIRTIO_MMIO_INT_VRING | 0xffff'fff0);
  CHECK(irq.status() == VIRTIO_MMIO_INT_CONFIG);
  irq.ack(VIRTIO_MMIO_INT_CONFIG);
  CHECK(irq.status() == 0);
}

TEST_CASE(
    "virtio interrupt: signal_needs_reset raises a config interrupt and is cleared by reset") {
  VirtioInterrupt irq = make();
  irq.signal_needs_reset();
  CHECK(irq.needs_reset());
  CHECK(irq.status() == VIRTIO_MMIO_INT_CONFIG);
  CHECK(irq.irq_event().consume() == 1);
  irq.reset();
  CHECK_FALSE(irq.needs_reset());
  CHECK(irq.status() == 0);
}

TEST_CASE("virtio interrupt: concurrent signals and acks lose no irqfd signal") {
  VirtioInterrupt irq = make();
  constexpr int kPerThread = 10'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) irq.signal_used_queue();
    });
  threads.emplace_back([&] {
    for (int i = 0; i < kPerThread; ++i) irq.ack(VIRTIO_MMIO_INT_VRING);
  });
  for (auto& t : threads) t.join();
  CHECK(irq.irq_event().consume() == 3 * kPerThread);
  CHECK(irq.signal_count() == 3 * kPerThread);
}

}  // namespace
}  // namespace minivmm::virtio
