// Shared pieces of the virtio unit tests (and the fuzzers): a small guest memory layout with two
// adjacent regions and a hole, and FakeVirtioDevice, a VirtioDevice that records what the
// transport does to it and can run a worker thread that completes every chain of queue 0 (to
// test reset during activity). Not a test of anything by itself.
#pragma once

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstring>
#include <optional>
#include <thread>
#include <vector>

#include "devices/virtio/ring_abi.hpp"
#include "devices/virtio/virtio_device.hpp"
#include "vmm/memory/guest_memory.hpp"

namespace minivmm::virtio::test {

/// RAM [0, 1 MiB) and [1 MiB, 2 MiB) (adjacent regions), a hole [2 MiB, 4 MiB), RAM [4 MiB, 5 MiB).
inline constexpr uint64_t kRegion2 = 0x10'0000;
inline constexpr uint64_t kHole = 0x20'0000;
inline constexpr uint64_t kRegion3 = 0x40'0000;
inline constexpr uint64_t kRamEnd = 0x50'0000;

inline GuestMemory make_test_memory() {
  RegionSpec specs[] = {{0, kRegion2}, {kRegion2, kRegion2}, {kRegion3, 0x10'0000}};
  auto m = GuestMemory::create(specs);
  if (!m) std::abort();
  return std::move(*m);
}

inline constexpr uint64_t kVersion1 = 1ull << VIRTIO_F_VERSION_1;
inline constexpr uint64_t kIndirect = 1ull << VIRTIO_RING_F_INDIRECT_DESC;
inline constexpr uint64_t kEventIdx = 1ull << VIRTIO_RING_F_EVENT_IDX;

class FakeVirtioDevice : public VirtioDevice {
 public:
  uint32_t type = VIRTIO_ID_BLOCK;
  uint64_t offered = kVersion1 | kIndirect | kEventIdx | 1;
  std::vector<uint16_t> max_sizes{256, 128};
  std::array<uint8_t, 24> config{};
  bool fail_activation = false;
  bool reject_features = false;
  bool run_worker = false;    ///< complete every chain of queue 0 on a thread until reset
  bool watch_events = false;  ///< wait on queue 0's eventfd on the io_context (dup'd fd)

  int activations = 0;
  int resets = 0;
  std::vector<uint16_t> notifies;
  uint64_t acked = 0;
  std::vector<SplitQueue> queues;
  std::shared_ptr<VirtioInterrupt> interrupt;
  std::atomic<uint64_t> completed{0};

  FakeVirtioDevice() {
    for (size_t i = 0; i < config.size(); ++i) config[i] = static_cast<uint8_t>(0xa0 + i);
  }
  ~FakeVirtioDevice() override { stop_worker(); }

  uint32_t device_type() const override { return type; }
  uint64_t features() const override { return offered; }
  std::span<const uint16_t> queue_max_sizes() const override { return max_sizes; }
  bool accept_features(uint64_t) const override { return !reject_features; }
  size_t config_size() const override { return config.size(); }
  void read_config(uint64_t offset, std::span<uint8_t> data) const override {
    std::memcpy(data.data(), config.data() + offset, data.size());
  }
  void write_config(uint64_t offset, std::span<const uint8_t> data) override {
    std::memcpy(config.data() + offset, data.data(), data.size());
  }

  Result<void> activate(Activation a) override {
    ++activations;
    if (fail_activation) return make_error(ErrorCode::invalid_state, "fake activation failure");
    acked = a.acked_features;
    queues = std::move(a.queues);
    interrupt = a.interrupt;
    m_memory = &a.memory;
    if (watch_events && !a.queue_events.empty()) {
      m_watch.emplace(a.io, ::dup(a.queue_events[0].fd()));
      m_watch->async_wait(boost::asio::posix::stream_descriptor::wait_read,
                          [](const boost::system::error_code&) {});
    }
    if (run_worker) {
      m_stop = false;
      m_worker = std::thread([this] { work(); });
    }
    return {};
  }
  void reset() override {
    ++resets;
    stop_worker();
    m_watch.reset();  // closes the dup'd fd, cancelling the wait
    queues.clear();
    interrupt.reset();
    m_memory = nullptr;
  }
  void notify(uint16_t queue_index) override { notifies.push_back(queue_index); }

 private:
  void work() {
    while (!m_stop.load(std::memory_order_acquire)) {
      PopResult r = queues[0].pop(*m_memory);
      if (r.status == PopStatus::chain) {
        queues[0].add_used(*m_memory, r.chain.head, 1);
        completed.fetch_add(1);
        if (queues[0].needs_notification(*m_memory)) interrupt->signal_used_queue();
      } else {
        std::this_thread::yield();
      }
    }
  }
  void stop_worker() {
    m_stop = true;
    if (m_worker.joinable()) m_worker.join();
  }

  const GuestMemory* m_memory = nullptr;
  std::optional<boost::asio::posix::stream_descriptor> m_watch;
  std::atomic<bool> m_stop{false};
  std::thread m_worker;
};

}  // namespace minivmm::virtio::test
