// Tap: the virtio-net backend, one Linux tap queue (/dev/net/tun, IFF_TAP | IFF_NO_PI |
// IFF_VNET_HDR) carrying Ethernet frames prefixed with a 12-byte struct virtio_net_hdr_v1. It owns
// the file descriptor, creates or attaches to the interface (or adopts a descriptor a container
// runtime opened in another network namespace), probes and sets the kernel's offloads
// (TUNSETOFFLOAD) and does the non-blocking read()/write() of single frames, classifying errno into
// "try later", "this frame failed" and "the tap is gone". It deliberately knows nothing of virtio
// queues, guest memory or the event loop (net_device.hpp), and it does not configure addresses or
// routes: the host does that.
#pragma once

#include <linux/if_tun.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "vmm/sys/error.hpp"
#include "vmm/sys/unique_fd.hpp"

namespace minivmm::net {

/// The TUNSETOFFLOAD flags this backend knows (USO is not used).
inline constexpr unsigned kTunOffloadMask =
    TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_UFO;

/// The outcome of one frame read or write.
enum class TapIoStatus {
  ok,           ///< `bytes` transferred
  would_block,  ///< EAGAIN (read: nothing queued; write: EAGAIN/ENOBUFS, no room)
  frame_error,  ///< write only: the kernel refused this frame (EINVAL, EMSGSIZE...)
  failed,       ///< the tap is unusable (deleted: EBADFD, EIO, ENODEV...; or read EOF)
};

struct TapIo {
  TapIoStatus status = TapIoStatus::ok;
  size_t bytes = 0;
  int error = 0;  ///< errno when status is not ok (0 for EOF)
};

/// True for the errno values that mean the tap itself is gone, not one frame.
bool is_tap_failure_errno(int error) noexcept;

class Tap {
 public:
  /// Opens /dev/net/tun and attaches to tap `name`, creating it if it does not exist (then it
  /// also brings the link up so the host can configure it at once; a tap we created disappears
  /// when the last descriptor is closed). An empty name lets the kernel pick ("tap%d").
  /// Errors: invalid_config when `name` is longer than IFNAMSIZ - 1; errno errors naming the tap
  /// ("tap tap0: TUNSETIFF: Operation not permitted").
  static Result<Tap> open(const std::string& name);
  /// Takes ownership of an already-open tap descriptor (closed again on error). It must be a
  /// tap (not tun) queue opened with IFF_NO_PI and IFF_VNET_HDR. Errors: invalid_config for a
  /// negative fd, a tun device or missing flags; errno errors from TUNGETIFF (not a tun/tap fd),
  /// fcntl and TUNSETVNETHDRSZ.
  static Result<Tap> adopt(int fd);
  /// Test-only: wraps any frame-preserving descriptor (e.g. a SOCK_SEQPACKET socketpair end) as
  /// a tap without issuing a single TUN ioctl. set_offload() only records the flags;
  /// `supported_offloads` is what supported_offloads() reports. The descriptor is made
  /// non-blocking. Never use it for a real tap.
  static Tap from_fd_for_testing(UniqueFd fd, std::string name,
                                 unsigned supported_offloads = kTunOffloadMask);

  Tap(Tap&&) noexcept = default;
  Tap& operator=(Tap&&) noexcept = default;

  int fd() const noexcept { return m_fd.get(); }
  /// The interface name as the kernel reports it.
  const std::string& name() const noexcept { return m_name; }
  /// True when open() created the interface (false when it attached or adopted).
  bool created() const noexcept { return m_created; }
  /// TUN_F_* flags TUNSETOFFLOAD accepted when probed at open (TSO/UFO only with CSUM).
  unsigned supported_offloads() const noexcept { return m_supported; }
  /// The flags last set with set_offload() (0 after open).
  unsigned offloads() const noexcept { return m_offloads; }

  /// TUNSETOFFLOAD: which offloaded frames the kernel may hand us on read (TSO needs CSUM).
  /// Errors: errno errors naming the tap and the flags.
  Result<void> set_offload(unsigned tun_flags);

  /// Reads one frame (vnet header included) into `buf`; a frame longer than `buf` is truncated
  /// by the kernel, so pass a buffer of the largest frame. Never blocks.
  TapIo read_frame(std::span<uint8_t> buf) const noexcept;
  /// Writes one frame (vnet header included). Never blocks.
  TapIo write_frame(std::span<const uint8_t> frame) const noexcept;

 private:
  enum class Kind { tap, test_stand_in };
  Tap(UniqueFd fd, std::string name, Kind kind) noexcept
      : m_fd(std::move(fd)), m_name(std::move(name)), m_kind(kind) {}
  /// O_NONBLOCK, TUNSETVNETHDRSZ and the offload probe, shared by open() and adopt().
  Result<void> configure();
  Result<void> bring_up() const;

  UniqueFd m_fd;
  std::string m_name;
  Kind m_kind = Kind::tap;
  bool m_created = false;
  unsigned m_supported = 0;
  unsigned m_offloads = 0;
};

}  // namespace minivmm::net
