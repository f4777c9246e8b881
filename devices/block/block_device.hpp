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
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>

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
  /// Called on the event loop, with the device's locks held, when host I/O failed (at most a few
  /// times a second): it must only hand the message on. Optional.
  std::function<void(const std::string&)> on_error;
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

  /// A copy of the configuration space (capacity changes on replace_disk).
  BlockConfigSpace config() const;
  /// The limits requests are checked against for a given negotiated feature set.
  BlockLimits limits(uint64_t acked_features) const noexcept;
  /// Counters of the current (or last) activation; they continue across replace_disk().
  BlockCounters counters() const;

  /// The backing file's path as the machine named it (empty until set_path or a replacement).
  std::string path() const;
  void set_path(std::string path);
  bool read_only() const;
  uint64_t capacity_sectors() const;
  /// Completed replace_disk() swaps.
  uint64_t backing_swaps() const;

  /// Called with true once `disk` serves every later request, or false when it was dropped.
  using SwapDone = std::function<void(bool swapped)>;
  /// Replaces the backing file, keeping the device and its counters. Inactive: at once (the
  /// next driver reads the new capacity). Active: on the event loop, new chains wait in the avail
  /// ring until the requests in flight on the old file have completed; then the file is swapped,
  /// capacity updated, ConfigGeneration bumped and a configuration-change interrupt raised
  /// (virtio v1.2 5.2.6, Linux's virtblk_config_changed re-reads capacity). A reset meanwhile
  /// still swaps. `disk` must have the current read-only flag (the driver read VIRTIO_BLK_F_RO
  /// once). `done` runs on the event loop or the calling thread, with no device lock held.
  void replace_disk(DiskFile disk, std::string path, SwapDone done);
  /// Before any activation only: replaces the file and offers features for its read-only flag
  /// (VIRTIO_BLK_F_RO, or DISCARD and WRITE_ZEROES). Error invalid_state once activated.
  Result<void> set_disk(DiskFile disk, std::string path);

 private:
  struct Running;
  BlockDevice(DiskFile disk, const BlockDeviceOptions& options);
  void set_features_for_disk();
  /// Installs `disk` (m_mutex held): capacity, limits of later activations, the swap count.
  void install_disk(DiskFile disk, std::string path);

  DiskFile m_disk;
  BlockDeviceOptions m_options;
  uint64_t m_features = 0;
  BlockConfigSpace m_config;
  std::array<uint16_t, 1> m_queue_max{};
  mutable std::mutex m_mutex;  ///< guards m_running, m_disk swaps, m_config, path and counts
  std::shared_ptr<Running> m_running;  ///< non-null between activate() and reset()
  /// The sum of every finished activation's counters: counters() adds the running one, so
  /// they count since the device was created, across driver resets and swaps.
  BlockCounters m_earlier_counters;
  std::string m_path;
  uint64_t m_swaps = 0;
  bool m_ever_activated = false;
};

}  // namespace minivmm::block
