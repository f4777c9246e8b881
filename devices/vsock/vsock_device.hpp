// VsockDevice: the virtio-vsock device (virtio v1.2 5.10) as a VirtioDevice, in user space on the
// machine's event loop (no vhost-vsock), with the hybrid Unix-socket host side Firecracker, Cloud
// Hypervisor and Kata Dragonball use, so Kata's agent client works unchanged. It owns the options,
// the offered features (VERSION_1, RING_EVENT_IDX, RING_INDIRECT_DESC; stream sockets only, no
// SEQPACKET), the read-only configuration space (guest_cid), the listening socket at uds_path
// (from create() until destruction, so host programs can connect before the driver is up), and
// between activate() and reset() the three queues: TX chains are parsed and handed to the
// muxer, RX buffers are filled with what the muxer owes the guest, and the event queue carries
// VIRTIO_VSOCK_EVENT_TRANSPORT_RESET after a reset that closed connections (5.10.6.6). It
// deliberately does not parse the CONNECT line (vsock_handshake.hpp), track connection state
// (vsock_connection.hpp), do socket I/O (vsock_muxer.hpp, vsock_unix.hpp) or know the transport.
#pragma once

#include <linux/virtio_vsock.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>

#include "devices/virtio/virtio_device.hpp"
#include "devices/vsock/vsock_muxer.hpp"
#include "devices/vsock/vsock_unix.hpp"

namespace minivmm::vsock {

struct VsockOptions {
  /// The guest's context ID: 3 ..= 0xFFFFFFFE (0-2 and U32_MAX are reserved; Linux keeps CIDs
  /// in 32 bits).
  uint64_t guest_cid = 0;
  /// The listening socket host programs connect to; guest connections to host port P go to
  /// `uds_path + "_" + P`. At most max_uds_path_length() bytes.
  std::string uds_path;
  /// Connections (plus host handshakes in progress), 1 ..= 65536; more are refused with RST
  /// (guest) or closed (host).
  uint32_t max_connections = 1024;
  /// Our buf_alloc: how many guest bytes one connection may buffer for a slow host socket
  /// (4 KiB ..= 64 MiB).
  uint32_t buffer_size = 256 * 1024;
  /// For the host's CONNECT line after accept, and again for the guest's answer to our REQUEST.
  std::chrono::milliseconds handshake_timeout{2000};
  /// After both directions of a connection are shut down: how long to wait for the guest's RST
  /// before sending one and closing.
  std::chrono::milliseconds close_timeout{2000};
  /// QueueNumMax of each queue: a power of two, 1 ..= 32768.
  uint16_t queue_size = 256;
};

inline constexpr uint16_t kRxQueue = 0;
inline constexpr uint16_t kTxQueue = 1;
inline constexpr uint16_t kEventQueue = 2;
inline constexpr size_t kVsockConfigSize = sizeof(virtio_vsock_config);

class VsockDevice final : public virtio::VirtioDevice {
 public:
  /// Validates `options` and binds the listening socket at uds_path now (a stale socket file
  /// there is replaced). Errors: invalid_config for a reserved CID, an empty or too long path, a
  /// path that exists and is not a socket, or out-of-range limits; errno errors from
  /// socket/bind/listen.
  static Result<std::shared_ptr<VsockDevice>> create(const VsockOptions& options);
  /// reset(), then unlinks the socket file (if it is still ours).
  ~VsockDevice() override;

  uint32_t device_type() const override;
  uint64_t features() const override { return m_features; }
  std::span<const uint16_t> queue_max_sizes() const override { return m_queue_max; }
  size_t config_size() const override { return kVsockConfigSize; }
  /// guest_cid as a little-endian u64; bytes past it read as zero.
  void read_config(uint64_t offset, std::span<uint8_t> data) const override;
  /// The configuration space is read-only: ignored.
  void write_config(uint64_t offset, std::span<const uint8_t> data) override;
  /// Requires three queues (rx, tx, event) and their eventfds. Host connections waiting in the
  /// listener's backlog are accepted from now on.
  Result<void> activate(virtio::Activation activation) override;
  /// Closes every host connection (host programs see end of file), stops all handlers and
  /// releases the Activation; nothing touches guest memory afterwards. If connections were open,
  /// the next activation sends VIRTIO_VSOCK_EVENT_TRANSPORT_RESET.
  void reset() override;
  void notify(uint16_t queue_index) override;

  /// Cumulative over the device's lifetime; thread-safe.
  VsockCounters counters() const;
  const std::string& uds_path() const noexcept { return m_options.uds_path; }
  uint64_t guest_cid() const noexcept { return m_options.guest_cid; }
  /// A TRANSPORT_RESET event waits for an event-queue buffer (thread-safe).
  bool transport_reset_pending() const;

 private:
  struct Running;
  VsockDevice(const VsockOptions& options, UnixListener listener);

  VsockOptions m_options;
  UnixListener m_listener;
  uint64_t m_features = 0;
  std::array<uint16_t, 3> m_queue_max{};
  mutable std::mutex m_mutex;          ///< guards m_running, m_counters, m_event_pending
  std::shared_ptr<Running> m_running;  ///< non-null between activate() and reset()
  VsockCounters m_counters;            ///< as of the last reset
  bool m_event_pending = false;
};

}  // namespace minivmm::vsock
