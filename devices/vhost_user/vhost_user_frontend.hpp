// VhostUserFrontend: the frontend ("master") side of one vhost-user connection
// (QEMU docs/interop/vhost-user.rst): feature and protocol-feature negotiation, SET_OWNER, the
// memory table built from GuestMemory (its one memfd for every region), and the per-vring setup
// and teardown messages. Every call is synchronous and bounded by the connection's timeout: one
// request, then (for requests with a reply, or every request once REPLY_ACK is negotiated) one
// reply that must answer that request exactly (request id, REPLY flag, version 1, exact size, no
// descriptors). The first failure of any kind marks the connection broken: the socket is closed
// and every later call fails at once with the first error, so a desynchronised stream is never
// read again. It owns the socket but no threads; it is not thread-safe (the device serializes
// calls) and knows nothing of virtio queues or of the device it serves.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "devices/vhost_user/vhost_user_message.hpp"
#include "vmm/memory/guest_memory.hpp"
#include "vmm/sys/error.hpp"
#include "vmm/sys/unique_fd.hpp"

namespace minivmm::vhost_user {

inline constexpr std::chrono::milliseconds kDefaultTimeout{5000};

class Deadline;  // vhost_user_channel.hpp

/// Guest-physical addresses of one split ring (virtio v1.2 2.7) and its size, as the driver set
/// them; translated to host addresses for SET_VRING_ADDR.
struct VringGpas {
  uint64_t desc = 0;
  uint64_t avail = 0;
  uint64_t used = 0;
  uint32_t size = 0;
};

class VhostUserFrontend {
 public:
  /// Connects to the backend listening on `path` (retrying a listener that is not accepting yet)
  /// within `timeout`, which then bounds every later request. Errors name the path:
  /// "vhost-user /run/x.sock connect: timed out after 5000 ms".
  static Result<VhostUserFrontend> connect(const std::string& path,
                                           std::chrono::milliseconds timeout = kDefaultTimeout);
  /// Uses an already connected stream socket (tests: one end of a socketpair). `name` appears in
  /// errors in place of the path. The socket is made non-blocking.
  static VhostUserFrontend adopt(UniqueFd socket, std::string name,
                                 std::chrono::milliseconds timeout = kDefaultTimeout);

  VhostUserFrontend(VhostUserFrontend&&) noexcept = default;
  VhostUserFrontend& operator=(VhostUserFrontend&&) noexcept = default;

  // --- negotiation (vhost-user.rst "Feature negotiation") ---
  Result<uint64_t> get_features();
  Result<void> set_features(uint64_t features);
  Result<uint64_t> get_protocol_features();
  /// Precondition: the backend offered kFeatureProtocolFeatures. From the reply to this call on,
  /// when `features` holds kProtocolReplyAck, every request without a reply carries NEED_REPLY and
  /// its acknowledgement (u64 0 = success) is awaited and checked.
  Result<void> set_protocol_features(uint64_t features);
  /// Precondition: kProtocolMq negotiated.
  Result<uint64_t> get_queue_num();
  Result<void> set_owner();
  Result<void> reset_owner();

  /// SET_MEM_TABLE with one region per GuestMemory region: guest_phys_addr, memory_size,
  /// userspace_addr = our host address of the region, mmap_offset = the region's memfd offset,
  /// and the memfd as each region's descriptor. Errors: more than kMaxRegions regions.
  Result<void> set_mem_table(const GuestMemory& mem);

  // --- vrings ---
  Result<void> set_vring_num(uint32_t index, uint32_t num);
  /// SET_VRING_ADDR with host addresses of the three rings. Errors (invalid_config): a ring that
  /// is not inside one RAM region (the caller validated the queue, so this means a bug).
  Result<void> set_vring_addr(uint32_t index, const GuestMemory& mem, const VringGpas& ring);
  Result<void> set_vring_base(uint32_t index, uint32_t base);
  /// Stops the ring and returns the backend's next available index.
  Result<uint32_t> get_vring_base(uint32_t index);
  /// The eventfd the guest's kicks signal (the backend gets its own copy).
  Result<void> set_vring_kick(uint32_t index, int fd);
  /// The eventfd the backend signals after adding used buffers (the irqfd).
  Result<void> set_vring_call(uint32_t index, int fd);
  Result<void> set_vring_enable(uint32_t index, bool enable);

  /// The socket (to watch for EOF on an event loop); -1 once broken or closed.
  int fd() const noexcept { return m_sock.get(); }
  bool reply_ack() const noexcept { return m_reply_ack; }
  /// The first error that broke the connection.
  const std::optional<Error>& broken() const noexcept { return m_broken; }
  /// Closes the socket and marks the connection broken with `why` (no-op when already broken).
  void close(const std::string& why);
  const std::string& name() const noexcept { return m_name; }
  std::chrono::milliseconds timeout() const noexcept { return m_timeout; }

 private:
  VhostUserFrontend(UniqueFd sock, std::string name, std::chrono::milliseconds timeout)
      : m_sock(std::move(sock)), m_name(std::move(name)), m_timeout(timeout) {}
  /// Sends a request that has no reply of its own (awaiting the REPLY_ACK when negotiated).
  Result<void> send_no_reply(Message m, std::span<const int> fds = {});
  /// Sends a request and returns its validated reply payload of exactly `reply_size` bytes.
  Result<Message> transact(const Message& m, uint32_t reply_size);
  Result<Message> receive_reply(Request r, uint32_t reply_size, const Deadline& d);
  /// Marks the connection broken with `e` prefixed by peer and request, and returns it.
  tl::unexpected<Error> fail(Request r, const Error& e);

  UniqueFd m_sock;
  std::string m_name;
  std::chrono::milliseconds m_timeout;
  bool m_reply_ack = false;
  std::optional<Error> m_broken;
};

}  // namespace minivmm::vhost_user
