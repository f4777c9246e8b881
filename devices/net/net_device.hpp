// NetDevice: the virtio-net device (virtio v1.2 5.1) over a tap, as a VirtioDevice. It owns the
// offered features (offloads limited to what the tap can do), the read-only configuration space
// (5.1.4: mac, link status, one queue pair, mtu), the link state and, between activate() and
// reset(), the event-loop handlers of the receive queue (0) and the transmit queue (1). TX pops a
// bounded number of chains per wakeup, validates each frame's header and writes it to the tap; RX
// reads one frame at a time from the tap and scatters it over one or more RX chains
// (VIRTIO_NET_F_MRG_RXBUF), holding at most that one frame while the guest has no buffers. It
// deliberately has no control queue, no multiqueue and no vhost-net; it does not parse headers
// itself (vnet_header.hpp) or issue tap ioctls (tap.hpp), and it does not know the transport.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>

#include "devices/net/tap.hpp"
#include "devices/virtio/virtio_device.hpp"
#include "vmm/sys/rate_limit.hpp"

namespace minivmm::net {

/// The virtio-net configuration layout up to mtu (virtio v1.2 5.1.4), little-endian. Fields past
/// mtu (speed, duplex, RSS) belong to features this device does not offer.
struct NetConfigSpace {
  uint8_t mac[6] = {};
  uint16_t status = 0;  ///< VIRTIO_NET_S_LINK_UP while the tap works
  uint16_t max_virtqueue_pairs = 1;
  uint16_t mtu = 0;
};
inline constexpr size_t kNetConfigSize = 12;
static_assert(sizeof(NetConfigSpace) == kNetConfigSize);
static_assert(offsetof(NetConfigSpace, status) == 6);
static_assert(offsetof(NetConfigSpace, mtu) == 10);

struct NetDeviceOptions {
  /// Absent: a random locally administered unicast address.
  std::optional<std::array<uint8_t, 6>> mac;
  uint16_t mtu = 1500;              ///< advertised with VIRTIO_NET_F_MTU; 68..65535
  uint16_t queue_size = 256;        ///< QueueNumMax of both queues; a power of two >= 2
  uint32_t frames_per_wakeup = 64;  ///< frames per queue handler run before yielding
  /// Called once, when the tap first fails ("tap tap0 read: Network is down"), on the thread
  /// that noticed it, possibly with the device's locks held: it must only hand the message on.
  std::function<void(const std::string&)> on_error;
};

/// Statistics, cumulative over the device's lifetime (carried across reset and re-activation).
struct NetCounters {
  uint64_t rx_packets = 0;        ///< frames delivered to the guest
  uint64_t rx_bytes = 0;          ///< their bytes, without the vnet header
  uint64_t rx_drops = 0;          ///< frames read from the tap and discarded (no fit, bad offloads)
  uint64_t rx_errors = 0;         ///< tap reads that failed or returned a runt
  uint64_t tx_packets = 0;        ///< frames written to the tap
  uint64_t tx_bytes = 0;          ///< their bytes, without the vnet header
  uint64_t tx_drops = 0;          ///< TX chains not sent: malformed, bad header, no room, link down
  uint64_t tx_errors = 0;         ///< tap writes that failed with an error
  uint64_t malformed_chains = 0;  ///< chains of either queue returned with used length 0
  bool link_up = true;
};

class NetDevice final : public virtio::VirtioDevice {
 public:
  static constexpr uint16_t kRxQueue = 0;
  static constexpr uint16_t kTxQueue = 1;

  /// Errors (invalid_config): a queue size that is not a power of two in 2..32768, an mtu below
  /// 68, frames_per_wakeup 0, or a given MAC that is multicast or all zero.
  static Result<std::shared_ptr<NetDevice>> create(Tap tap, const NetDeviceOptions& options = {});
  ~NetDevice() override;

  uint32_t device_type() const override;
  uint64_t features() const override { return m_features; }
  std::span<const uint16_t> queue_max_sizes() const override { return m_queue_max; }
  /// Refuses feature sets that break virtio v1.2 5.1.3.1 (e.g. GUEST_TSO4 without GUEST_CSUM).
  bool accept_features(uint64_t acked) const override;
  size_t config_size() const override { return kNetConfigSize; }
  /// Reads past the structure return zeroes.
  void read_config(uint64_t offset, std::span<uint8_t> data) const override;
  /// Everything is read-only (no VIRTIO_NET_F_CTRL_MAC_ADDR, no legacy MAC write): ignored.
  void write_config(uint64_t offset, std::span<const uint8_t> data) override;
  /// Mirrors the acked GUEST_* offloads to the tap, then starts the queue and tap handlers.
  /// Errors: invalid_state when already active or the activation lacks two queues, eventfds or
  /// an interrupt; TUNSETOFFLOAD / dup / epoll failures (a tap found gone only takes the link
  /// down).
  Result<void> activate(virtio::Activation activation) override;
  void reset() override;
  void notify(uint16_t queue_index) override;

  const std::array<uint8_t, 6>& mac() const noexcept { return m_mac; }
  const std::string& tap_name() const noexcept { return m_tap.name(); }
  /// The backend (its current offloads() mirror the driver's GUEST_* features while active).
  const Tap& tap() const noexcept { return m_tap; }
  uint16_t mtu() const noexcept { return m_options.mtu; }
  /// False for good once the tap failed (deleted, I/O errors).
  bool link_up() const noexcept { return !m_tap_failed.load(std::memory_order_acquire); }
  /// Thread-safe; callable from any thread.
  NetCounters counters() const;

 private:
  struct Running;
  NetDevice(Tap tap, const NetDeviceOptions& options, const std::array<uint8_t, 6>& mac);
  /// Takes the link down once: logs (rate-limited) and raises a configuration interrupt.
  void mark_tap_failed(const char* operation, int error, virtio::VirtioInterrupt* irq);

  Tap m_tap;
  NetDeviceOptions m_options;
  std::array<uint8_t, 6> m_mac{};
  uint64_t m_features = 0;
  std::array<uint16_t, 2> m_queue_max{};
  std::atomic<bool> m_tap_failed{false};
  RateLimiter m_log_limit{5};
  mutable std::mutex m_mutex;          ///< guards m_running and m_last_counters
  std::shared_ptr<Running> m_running;  ///< non-null between activate() and reset()
  NetCounters m_last_counters;
};

}  // namespace minivmm::net
