// FsDevice: the virtio-fs device (virtio v1.2 5.11) as a VirtioDevice whose queues are served by an
// external vhost-user backend (virtiofsd) straight from shared guest memory; minivmm is only the
// vhost-user frontend. It owns the offered features, the read-only configuration space (tag and
// request-queue count, 5.11.4), the VhostUserFrontend connection and its lifecycle: create()
// negotiates with the backend up front; activate() hands it the memory table, the rings, the
// queue ioeventfds (guest kicks reach the backend directly) and the irqfd (the backend interrupts
// the guest directly, with VirtioInterrupt's sticky VRING status on); reset() stops the rings
// with GET_VRING_BASE. It watches the socket on the event loop; when the backend is lost (EOF,
// an error or a timeout) it records and reports the error and serves the queues itself with FUSE
// error replies (fs_takeover.hpp), so the guest sees ENOTCONN instead of hanging. There is no
// reconnection: a lost backend stays lost for the device's lifetime. It does not start virtiofsd
// (virtiofsd_launcher.hpp does) and knows nothing of the transport.
#pragma once

#include <linux/virtio_fs.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "devices/virtio/virtio_device.hpp"
#include "vmm/sys/error.hpp"

namespace minivmm::fs {

/// virtio_fs_config is packed: tag[36] then le32 num_request_queues (5.11.4).
inline constexpr size_t kFsConfigSize = sizeof(virtio_fs_config);
static_assert(kFsConfigSize == 40);
inline constexpr size_t kMaxTagBytes = sizeof(virtio_fs_config::tag);
/// libvhost-user's VIRTQUEUE_MAX_SIZE: the C virtiofsd refuses larger rings.
inline constexpr uint16_t kMaxQueueSize = 1024;
/// An upper bound of our own on request queues (the C virtiofsd serves exactly one).
inline constexpr uint32_t kMaxRequestQueues = 64;

struct FsDeviceOptions {
  /// The mount tag the guest uses (mount -t virtiofs TAG /mnt): 1..36 bytes of UTF-8 without
  /// control characters.
  std::string tag;
  /// The backend's vhost-user socket (virtiofsd --socket-path).
  std::string socket_path;
  uint32_t num_request_queues = 1;
  /// QueueNumMax of every queue: a power of two in 1..kMaxQueueSize.
  uint16_t queue_size = 1024;
  /// Bounds connecting and every vhost-user round trip.
  std::chrono::milliseconds backend_timeout{5000};
  /// Called on the event-loop thread, once, when the backend is lost after create() (also for a
  /// loss noticed in activate() or reset()), before the VMM takes the queues over: an embedder
  /// that launched the backend should stop it here (VirtiofsdProcess::kill()). Must not call
  /// activate()/reset(). Not called once the destructor has run (a call already running may
  /// still be finishing).
  std::function<void(const std::string&)> on_error;
};

struct FsCounters {
  bool backend_connected = false;           ///< the vhost-user connection is up
  bool queues_taken_over = false;           ///< the current activation is served by the VMM
  uint64_t activations = 0;                 ///< successful activate() calls
  uint64_t requests_failed_after_loss = 0;  ///< requests answered with a FUSE error
  uint64_t malformed_after_loss = 0;        ///< chains returned with used length 0 after loss
};

class FsDevice final : public virtio::VirtioDevice {
 public:
  /// Validates `options`, connects to the backend and negotiates: GET_FEATURES (VERSION_1
  /// required), GET/SET_PROTOCOL_FEATURES (MQ and REPLY_ACK when offered), GET_QUEUE_NUM (with
  /// MQ: the backend must serve 1 + num_request_queues queues), SET_OWNER. Blocks up to the
  /// timeout per step. Errors: invalid_config (tag, queue count or size, timeout), connection
  /// and protocol errors naming the socket ("vhost-user /run/x.sock GET_FEATURES: timed out
  /// after 5000 ms").
  static Result<std::shared_ptr<FsDevice>> create(FsDeviceOptions options);
  /// Resets if active and closes the connection (the C virtiofsd then exits).
  ~FsDevice() override;

  uint32_t device_type() const override;
  /// VERSION_1 plus EVENT_IDX and INDIRECT_DESC when the backend offers them.
  uint64_t features() const override { return m_features; }
  std::span<const uint16_t> queue_max_sizes() const override { return m_queue_max; }
  size_t config_size() const override { return kFsConfigSize; }
  /// Reads past the structure return zeroes.
  void read_config(uint64_t offset, std::span<uint8_t> data) const override;
  /// The configuration is read-only: every write is ignored.
  void write_config(uint64_t offset, std::span<const uint8_t> data) override;
  /// Sets the backend up for the ready queues. A backend failure here does not fail the
  /// activation: the device reports the loss and serves the queues with FUSE errors.
  /// Errors (invalid_state): already active, or queue/eventfd counts that do not match.
  Result<void> activate(virtio::Activation activation) override;
  /// GET_VRING_BASE for every ring the backend runs (timeout-bounded), or stops the takeover.
  void reset() override;
  void notify(uint16_t queue_index) override;

  /// The first backend failure after create(), if any.
  std::optional<std::string> backend_error() const;
  FsCounters counters() const;
  /// The backend's GET_FEATURES answer.
  uint64_t backend_features() const noexcept { return m_backend_features; }
  const virtio_fs_config& config() const noexcept { return m_config; }

 private:
  struct State;
  struct Running;
  FsDevice(const FsDeviceOptions& options, uint64_t backend_features);

  uint64_t m_features = 0;
  uint64_t m_backend_features = 0;
  virtio_fs_config m_config{};
  std::vector<uint16_t> m_queue_max;
  std::shared_ptr<State> m_state;  ///< shared with event-loop handlers
};

/// Checks a mount tag: 1..36 bytes, valid UTF-8, no control characters. Errors (invalid_config)
/// name the problem.
Result<void> validate_fs_tag(const std::string& tag);

}  // namespace minivmm::fs
