// BlockDevice: the virtio-blk device (virtio v1.2 5.2) as a VirtioDevice. It owns the offered
// features, the configuration space (5.2.4) and, between activate() and reset(), the one request
// queue's event-loop handlers: a kick on the queue's eventfd pops a bounded number of chains into
// the BlockEngine; the disk's completion eventfd turns finished requests into add_used() and, when
// needs_notification() says so, a used-buffer interrupt. When the engine is full the handler stops
// popping (the chains wait in the avail ring) and resumes on the next completion. It deliberately
// does not parse requests (block_request.hpp), do host I/O (disk_file.hpp) or know the transport.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>

#include "devices/block/block_engine.hpp"
#include "devices/block/disk_file.hpp"
#include "devices/virtio/virtio_device.hpp"

namespace minivmm::block {

/// The virtio-blk configuration layout up to write_zeroes_may_unmap (virtio v1.2 5.2.4),
/// little-endian, naturally aligned so the C++ layout matches the spec's offsets.
struct BlockConfigSpace {
  uint64_t capacity = 0;
  uint32_t size_max = 0;
  uint32_t seg_max = 0;
  uint16_t cylinders = 0;
  uint8_t heads = 0;
  uint8_t sectors = 0;
  uint32_t blk_size = 0;
  uint8_t physical_block_exp = 0;
  uint8_t alignment_offset = 0;
  uint16_t min_io_size = 0;
  uint32_t opt_io_size = 0;
  uint8_t writeback = 0;
  uint8_t unused0 = 0;
  uint16_t num_queues = 0;
  uint32_t max_discard_sectors = 0;
  uint32_t max_discard_seg = 0;
  uint32_t discard_sector_alignment = 0;
  uint32_t max_write_zeroes_sectors = 0;
  uint32_t max_write_zeroes_seg = 0;
  uint8_t write_zeroes_may_unmap = 0;
  uint8_t unused1[3] = {};
};
/// The spec's structure ends at byte 60; sizeof is 64 only because of the u64's alignment.
inline constexpr size_t kBlockConfigSize = 60;
static_assert(offsetof(BlockConfigSpace, unused1) + 3 == kBlockConfigSize);
static_assert(offsetof(BlockConfigSpace, blk_size) == 20);
static_assert(offsetof(BlockConfigSpace, num_queues) == 34);
static_assert(offsetof(BlockConfigSpace, max_discard_sectors) == 36);
static_assert(offsetof(BlockConfigSpace, write_zeroes_may_unmap) == 56);

struct BlockDeviceOptions {
  uint16_t queue_size = 256;  ///< QueueNumMax; also the request in-flight bound
  uint32_t max_discard_sectors = 1u << 22;
  uint32_t max_discard_seg = 32;
  uint32_t discard_sector_alignment = 8;  ///< 4 KiB, the hole-punch granularity
  uint32_t max_write_zeroes_sectors = 1u << 22;
  uint32_t max_write_zeroes_seg = 32;
  uint32_t chains_per_wakeup = 64;  ///< pops per handler run before yielding to the loop
};

class BlockDevice final : public virtio::VirtioDevice {
 public:
  /// Errors (invalid_config): a queue size that is 0, not a power of two or above 32768, a
  /// queue size of 2 or less (no room for seg_max), zero segment limits or chains_per_wakeup.
  static Result<std::shared_ptr<BlockDevice>> create(DiskFile disk,
                                                     const BlockDeviceOptions& options = {});
  ~BlockDevice() override;

  uint32_t device_type() const override;
  uint64_t features() const override { return m_features; }
  std::span<const uint16_t> queue_max_sizes() const override { return m_queue_max; }
  size_t config_size() const override { return kBlockConfigSize; }
  /// Reads past the structure return zeroes. Nothing is writable: `writeback` is only writable
  /// with VIRTIO_BLK_F_CONFIG_WCE, which is not offered, so write_config ignores everything.
  void read_config(uint64_t offset, std::span<uint8_t> data) const override;
  void write_config(uint64_t offset, std::span<const uint8_t> data) override;
  Result<void> activate(virtio::Activation activation) override;
  void reset() override;
  void notify(uint16_t queue_index) override;

  const BlockConfigSpace& config() const noexcept { return m_config; }
  /// The limits requests are checked against for a given negotiated feature set.
  BlockLimits limits(uint64_t acked_features) const noexcept;
  /// Counters of the current (or last) activation.
  BlockCounters counters() const;

 private:
  struct Running;
  BlockDevice(DiskFile disk, const BlockDeviceOptions& options);

  DiskFile m_disk;
  BlockDeviceOptions m_options;
  uint64_t m_features = 0;
  BlockConfigSpace m_config;
  std::array<uint16_t, 1> m_queue_max{};
  mutable std::mutex m_mutex;          ///< guards m_running against activate/reset/counters
  std::shared_ptr<Running> m_running;  ///< non-null between activate() and reset()
  BlockCounters m_last_counters;
};

}  // namespace minivmm::block
