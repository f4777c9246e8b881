// Tap: opening, adopting and configuring a tap queue, and single-frame non-blocking I/O with errno
// classification. Creation is race-free: TUNSETIFF is first tried with IFF_TUN_EXCL, which only
// succeeds when it creates the interface; EBUSY means it exists and we attach instead. The offload
// probe follows the kernel's set_offload() rules (TSO, ECN and UFO are only accepted together
// with CSUM) and always restores 0 so nothing offloaded arrives before a driver asks for it.
#include "devices/net/tap.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "devices/net/vnet_header.hpp"

namespace minivmm::net {

namespace {

Result<void> set_nonblocking_cloexec(int fd, const std::string& what) {
  int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0 || ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
    return errno_error("{}: set O_NONBLOCK", what);
  int fdfl = ::fcntl(fd, F_GETFD);
  if (fdfl < 0 || ::fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) != 0)
    return errno_error("{}: set FD_CLOEXEC", what);
  return {};
}

int tun_set_iff(int fd, const std::string& name, unsigned flags, ifreq& ifr) {
  ifr = {};
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  ifr.ifr_flags = static_cast<short>(static_cast<uint16_t>(flags));  // IFF_TUN_EXCL is bit 15
  return ::ioctl(fd, TUNSETIFF, &ifr);
}

}  // namespace

bool is_tap_failure_errno(int error) noexcept {
  switch (error) {
    case EBADFD:
    case EBADF:
    case EIO:
    case ENODEV:
    case ENXIO:
    case EPIPE:
    case ECONNRESET:
    case ENOTCONN:
      return true;
    default:
      return false;
  }
}

Result<Tap> Tap::open(const std::string& name) {
  if (name.size() > IFNAMSIZ - 1) {
    return make_error(ErrorCode::invalid_config, "tap {}: name longer than {} bytes", name,
                      IFNAMSIZ - 1);
  }
  UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK));
  if (!fd) return errno_error("tap {}: open /dev/net/tun", name);
  constexpr unsigned kFlags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  ifreq ifr{};
  bool created = true;
  if (tun_set_iff(fd.get(), name, kFlags | IFF_TUN_EXCL, ifr) != 0) {
    if (errno != EBUSY) return errno_error("tap {}: TUNSETIFF", name);
    created = false;  // it exists: attach to it
    if (tun_set_iff(fd.get(), name, kFlags, ifr) != 0)
      return errno_error("tap {}: TUNSETIFF", name);
  }
  Tap tap(std::move(fd), std::string(ifr.ifr_name, ::strnlen(ifr.ifr_name, IFNAMSIZ)), Kind::tap);
  tap.m_created = created;
  MINIVMM_TRY_VOID(tap.configure());
  if (created) MINIVMM_TRY_VOID(tap.bring_up());
  return tap;
}

Result<Tap> Tap::adopt(int raw_fd) {
  if (raw_fd < 0)
    return make_error(ErrorCode::invalid_config, "tap fd {}: not a descriptor", raw_fd);
  UniqueFd fd(raw_fd);
  ifreq ifr{};
  if (::ioctl(fd.get(), TUNGETIFF, &ifr) != 0)
    return errno_error("tap fd {}: TUNGETIFF (not a tun/tap descriptor?)", raw_fd);
  std::string name(ifr.ifr_name, ::strnlen(ifr.ifr_name, IFNAMSIZ));
  const auto flags = static_cast<unsigned short>(ifr.ifr_flags);
  if ((flags & IFF_TAP) == 0) {
    return make_error(ErrorCode::invalid_config, "tap fd {} ({}): a tun device, not a tap", raw_fd,
                      name);
  }
  if ((flags & IFF_VNET_HDR) == 0 || (flags & IFF_NO_PI) == 0) {
    return make_error(ErrorCode::invalid_config,
                      "tap fd {} ({}): opened without IFF_VNET_HDR or IFF_NO_PI; open it with "
                      "IFF_TAP|IFF_NO_PI|IFF_VNET_HDR",
                      raw_fd, name);
  }
  Tap tap(std::move(fd), std::move(name), Kind::tap);
  MINIVMM_TRY_VOID(tap.configure());
  return tap;
}

Tap Tap::from_fd_for_testing(UniqueFd fd, std::string name, unsigned supported_offloads) {
  int fl = ::fcntl(fd.get(), F_GETFL);
  if (fl >= 0) ::fcntl(fd.get(), F_SETFL, fl | O_NONBLOCK);
  Tap tap(std::move(fd), std::move(name), Kind::test_stand_in);
  tap.m_supported = supported_offloads & kTunOffloadMask;
  return tap;
}

Result<void> Tap::configure() {
  MINIVMM_TRY_VOID(set_nonblocking_cloexec(m_fd.get(), "tap " + m_name));
  int hdr_size = static_cast<int>(kVnetHdrSize);
  if (::ioctl(m_fd.get(), TUNSETVNETHDRSZ, &hdr_size) != 0)
    return errno_error("tap {}: TUNSETVNETHDRSZ {}", m_name, hdr_size);
  // The kernel accepts TSO4/TSO6/UFO only with CSUM, and ECN only with a TSO flag.
  auto try_set = [this](unsigned f) { return ::ioctl(m_fd.get(), TUNSETOFFLOAD, f) == 0; };
  m_supported = 0;
  if (try_set(TUN_F_CSUM)) {
    m_supported |= TUN_F_CSUM;
    for (unsigned f : {TUN_F_TSO4, TUN_F_TSO6, TUN_F_UFO})
      if (try_set(TUN_F_CSUM | f)) m_supported |= f;
    unsigned tso = m_supported & (TUN_F_TSO4 | TUN_F_TSO6);
    if (tso != 0 && try_set(TUN_F_CSUM | tso | TUN_F_TSO_ECN)) m_supported |= TUN_F_TSO_ECN;
  }
  if (!try_set(0)) return errno_error("tap {}: TUNSETOFFLOAD 0", m_name);
  m_offloads = 0;
  return {};
}

Result<void> Tap::bring_up() const {
  UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) return errno_error("tap {}: socket(AF_INET) for SIOCSIFFLAGS", m_name);
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, m_name.data(), m_name.size());
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) != 0)
    return errno_error("tap {}: SIOCGIFFLAGS", m_name);
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (::ioctl(sock.get(), SIOCSIFFLAGS, &ifr) != 0)
    return errno_error("tap {}: SIOCSIFFLAGS IFF_UP", m_name);
  return {};
}

Result<void> Tap::set_offload(unsigned tun_flags) {
  if (m_kind == Kind::tap && ::ioctl(m_fd.get(), TUNSETOFFLOAD, tun_flags) != 0)
    return errno_error("tap {}: TUNSETOFFLOAD {:#x}", m_name, tun_flags);
  m_offloads = tun_flags;
  return {};
}

TapIo Tap::read_frame(std::span<uint8_t> buf) const noexcept {
  for (;;) {
    ssize_t n = ::read(m_fd.get(), buf.data(), buf.size());
    if (n > 0) return {TapIoStatus::ok, static_cast<size_t>(n), 0};
    if (n == 0) return {TapIoStatus::failed, 0, 0};  // EOF: only a stand-in whose peer closed
    int e = errno;
    if (e == EINTR) continue;
    if (e == EAGAIN || e == EWOULDBLOCK) return {TapIoStatus::would_block, 0, e};
    // A read error other than "nothing queued" repeats on every retry: the tap is unusable.
    return {TapIoStatus::failed, 0, e};
  }
}

TapIo Tap::write_frame(std::span<const uint8_t> frame) const noexcept {
  for (;;) {
    // A stand-in socket whose peer closed must fail with EPIPE, not raise SIGPIPE.
    ssize_t n = m_kind == Kind::tap ? ::write(m_fd.get(), frame.data(), frame.size())
                                    : ::send(m_fd.get(), frame.data(), frame.size(), MSG_NOSIGNAL);
    if (n >= 0) return {TapIoStatus::ok, static_cast<size_t>(n), 0};
    int e = errno;
    if (e == EINTR) continue;
    if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS) return {TapIoStatus::would_block, 0, e};
    if (is_tap_failure_errno(e)) return {TapIoStatus::failed, 0, e};
    return {TapIoStatus::frame_error, 0, e};
  }
}

}  // namespace minivmm::net
