// Implementation of the vhost-user socket transport: non-blocking sockets, poll() with the
// remaining deadline before every read or write, SCM_RIGHTS in and out. Everything received is
// backend-controlled; the sizes it announces are bounded before any byte of payload is read.
#include "devices/vhost_user/vhost_user_channel.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace minivmm::vhost_user {
namespace {

constexpr auto kConnectRetry = std::chrono::milliseconds(10);

tl::unexpected<Error> timed_out(const Deadline& d) {
  return make_error(ErrorCode::timeout, "timed out after {} ms", d.budget().count());
}

/// Waits until `sock` is ready for `events` or the deadline passes.
Result<void> wait_ready(int sock, short events, const Deadline& d) {
  for (;;) {
    pollfd p{sock, events, 0};
    int n = ::poll(&p, 1, d.remaining_ms());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("poll");
    if (n == 0) return timed_out(d);
    return {};  // ready, or POLLERR/POLLHUP: the next I/O call reports the condition
  }
}

/// Moves every descriptor of every SCM_RIGHTS message in `msg` into `out`. Returns false when
/// the control data was truncated (more descriptors than the buffer holds).
bool take_fds(msghdr& msg, std::vector<UniqueFd>& out) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < n; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      out.emplace_back(fd);
    }
  }
  return !(msg.msg_flags & MSG_CTRUNC);
}

/// Reads exactly `buf.size()` bytes (collecting any descriptors). `started` tells whether part of
/// the message was already read, to tell a closed connection from a truncated message.
Result<void> recv_exact(int sock, std::span<uint8_t> buf, bool started, const Deadline& d,
                        std::vector<UniqueFd>& fds) {
  size_t got = 0;
  while (got < buf.size()) {
    MINIVMM_TRY_VOID(wait_ready(sock, POLLIN, d));
    alignas(cmsghdr) char control[CMSG_SPACE(kMaxFds * sizeof(int))];
    iovec iov{buf.data() + got, buf.size() - got};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return errno_error("recvmsg");
    // Backend-controlled: descriptors; all are owned (and closed) by the caller from here on.
    if (!take_fds(msg, fds))
      return make_error(ErrorCode::invalid_state, "more than {} file descriptors attached",
                        kMaxFds);
    if (n == 0) {
      if (!started && got == 0) return errno_error_value(ECONNRESET, "connection closed");
      return make_error(ErrorCode::invalid_state, "truncated message ({} of {} bytes)", got,
                        buf.size());
    }
    got += static_cast<size_t>(n);
  }
  return {};
}

}  // namespace

int Deadline::remaining_ms() const noexcept {
  auto left = m_end - std::chrono::steady_clock::now();
  if (left <= std::chrono::steady_clock::duration::zero()) return 0;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return ms > 1'000'000'000 ? 1'000'000'000 : static_cast<int>(ms);
}

Result<UniqueFd> connect_unix(const std::string& path, const Deadline& d) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path)
    return make_error(ErrorCode::invalid_config, "socket path of {} bytes (1..{} allowed)",
                      path.size(), sizeof addr.sun_path - 1);
  std::memcpy(addr.sun_path, path.data(), path.size());
  // connect() reports ECONNREFUSED for a path that is not a socket; do not retry that.
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && !S_ISSOCK(st.st_mode))
    return make_error(ErrorCode::invalid_config, "{} is not a Unix socket", path);
  for (;;) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return errno_error("socket");
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) return fd;
    int e = errno;
    if (e == EINPROGRESS) {
      MINIVMM_TRY_VOID(wait_ready(fd.get(), POLLOUT, d));
      int err = 0;
      socklen_t len = sizeof err;
      if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return errno_error("getsockopt SO_ERROR");
      if (err == 0) return fd;
      e = err;
    }
    if (e != ECONNREFUSED && e != EAGAIN) return errno_error_value(e, "connect");
    if (d.expired()) return timed_out(d);
    std::this_thread::sleep_for(kConnectRetry);
  }
}

Result<void> send_message(int sock, const Message& m, std::span<const int> fds, const Deadline& d) {
  if (fds.size() > kMaxFds)
    return make_error(ErrorCode::invalid_config, "{} file descriptors (at most {})", fds.size(),
                      kMaxFds);
  const auto payload = m.payload_bytes();
  size_t total = sizeof(Header) + payload.size();
  size_t sent = 0;
  while (sent < total) {
    MINIVMM_TRY_VOID(wait_ready(sock, POLLOUT, d));
    // Two iovecs (header, payload), advanced past what was already sent.
    iovec iov[2];
    int niov = 0;
    if (sent < sizeof(Header))
      iov[niov++] = {const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(&m.header)) + sent,
                     sizeof(Header) - sent};
    size_t psent = sent > sizeof(Header) ? sent - sizeof(Header) : 0;
    if (psent < payload.size())
      iov[niov++] = {const_cast<uint8_t*>(payload.data()) + psent, payload.size() - psent};
    alignas(cmsghdr) char control[CMSG_SPACE(kMaxFds * sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(niov);
    if (sent == 0 && !fds.empty()) {  // descriptors travel with the first byte only
      msg.msg_control = control;
      msg.msg_controllen = CMSG_SPACE(fds.size() * sizeof(int));
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
      std::memcpy(CMSG_DATA(c), fds.data(), fds.size() * sizeof(int));
    }
    ssize_t n = ::sendmsg(sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return errno_error("sendmsg");
    sent += static_cast<size_t>(n);
  }
  return {};
}

Result<Received> recv_message(int sock, const Deadline& d) {
  Received r;
  auto* hdr = reinterpret_cast<uint8_t*>(&r.message.header);
  MINIVMM_TRY_VOID(recv_exact(sock, {hdr, sizeof(Header)}, false, d, r.fds));
  // Backend-controlled: size, bounded before anything is read into the fixed payload buffer.
  uint32_t size = r.message.header.size;
  if (size > kMaxPayload)
    return make_error(ErrorCode::invalid_state, "payload of {} bytes exceeds {}", size,
                      kMaxPayload);
  MINIVMM_TRY_VOID(recv_exact(sock, {r.message.payload.data(), size}, true, d, r.fds));
  return r;
}

bool readable_now(int sock, bool& eof) noexcept {
  uint8_t byte;
  ssize_t n;
  do {
    n = ::recv(sock, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  eof = n == 0 || (n < 0 && errno != EAGAIN);
  return n != -1 || eof;
}

}  // namespace minivmm::vhost_user
