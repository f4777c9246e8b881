// FakeBackend: a scripted vhost-user backend for tests, running on its own thread on one end of a
// socketpair (or on a connection it accepts on a listening Unix socket). Every request it
// receives is logged (header, payload, descriptors) and passed to a handler that decides what to
// send back: a proper reply, a hostile one (wrong id, flags, size, extra descriptors, truncated
// bytes), nothing (to provoke a timeout), or closing the connection. standard_handler() answers
// like libvhost-user. Header-only; not a test of anything by itself.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "devices/vhost_user/vhost_user_message.hpp"
#include "vmm/sys/unique_fd.hpp"

namespace minivmm::vhost_user::test {

struct Request {
  Header header;
  std::vector<uint8_t> payload;
  std::vector<UniqueFd> fds;

  vhost_user::Request code() const { return static_cast<vhost_user::Request>(header.request); }
  uint64_t u64() const {
    uint64_t v = 0;
    std::memcpy(&v, payload.data(), std::min(payload.size(), sizeof v));
    return v;
  }
  vhost_vring_state state() const {
    vhost_vring_state s{};
    std::memcpy(&s, payload.data(), std::min(payload.size(), sizeof s));
    return s;
  }
};

class FakeBackend;
using Handler = std::function<void(FakeBackend&, const Request&)>;

class FakeBackend {
 public:
  /// Serves `sock` (the peer of the frontend's socket).
  FakeBackend(UniqueFd sock, Handler h) : m_sock(std::move(sock)), m_handler(std::move(h)) {
    m_thread = std::thread([this] { serve(); });
  }
  /// Listens on `path` and serves the first connection.
  FakeBackend(const std::string& path, Handler h) : m_handler(std::move(h)) {
    m_listen = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    if (::bind(m_listen.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(m_listen.get(), 1) != 0)
      std::abort();
    m_thread = std::thread([this] {
      int c = ::accept4(m_listen.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      {
        std::lock_guard l(m_mu);
        m_sock = UniqueFd(c);
        if (m_stopping) return;
      }
      serve();
    });
  }
  ~FakeBackend() {
    {
      std::lock_guard l(m_mu);
      m_stopping = true;
      if (m_listen) ::shutdown(m_listen.get(), SHUT_RDWR);
      if (m_sock) ::shutdown(m_sock.get(), SHUT_RDWR);
    }
    m_thread.join();
  }

  /// A socketpair: {frontend end, backend end}.
  static std::pair<UniqueFd, UniqueFd> socket_pair() {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) std::abort();
    return {UniqueFd(sv[0]), UniqueFd(sv[1])};
  }

  // --- used by handlers (on the backend thread) ---
  void send_raw(const void* data, size_t len, std::vector<int> fds = {}) {
    iovec iov{const_cast<void*>(data), len};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    std::vector<char> control(CMSG_SPACE(fds.size() * sizeof(int)));
    if (!fds.empty()) {
      msg.msg_control = control.data();
      msg.msg_controllen = control.size();
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
      std::memcpy(CMSG_DATA(c), fds.data(), fds.size() * sizeof(int));
    }
    [[maybe_unused]] ssize_t n = ::sendmsg(m_sock.get(), &msg, MSG_NOSIGNAL);
  }
  /// A reply header {request, flags, size} followed by `payload`.
  void send_reply(uint32_t request, uint32_t flags, const void* payload, uint32_t size,
                  std::vector<int> fds = {}) {
    std::vector<uint8_t> b(sizeof(Header) + size);
    Header h{request, flags, size};
    std::memcpy(b.data(), &h, sizeof h);
    if (size) std::memcpy(b.data() + sizeof h, payload, size);
    send_raw(b.data(), b.size(), std::move(fds));
  }
  void reply_u64(const Request& r, uint64_t v) {
    send_reply(r.header.request, kFlagVersion | kFlagReply, &v, sizeof v);
  }
  void reply_state(const Request& r, uint32_t index, uint32_t num) {
    vhost_vring_state s{index, num};
    send_reply(r.header.request, kFlagVersion | kFlagReply, &s, sizeof s);
  }
  /// Closes the connection (the frontend sees EOF).
  void close_connection() { ::shutdown(m_sock.get(), SHUT_RDWR); }

  // --- used by tests (any thread) ---
  /// Waits until at least `n` requests were received (or 5 s passed); returns the count.
  size_t wait_for(size_t n) {
    std::unique_lock l(m_mu);
    m_cv.wait_for(l, std::chrono::seconds(5), [&] { return m_log.size() >= n; });
    return m_log.size();
  }
  /// Waits until the connection ended (EOF seen by the backend).
  bool wait_closed() {
    std::unique_lock l(m_mu);
    return m_cv.wait_for(l, std::chrono::seconds(5), [&] { return m_closed; });
  }
  std::vector<Request>& log() { return m_log; }
  /// Keep received descriptors in the log (set before traffic starts; false closes them).
  std::atomic<bool> keep_fds{true};
  std::mutex& mutex() { return m_mu; }

 private:
  bool recv_exact(void* buf, size_t len, std::vector<UniqueFd>& fds) {
    size_t got = 0;
    while (got < len) {
      char control[CMSG_SPACE(16 * sizeof(int))];
      iovec iov{static_cast<char*>(buf) + got, len - got};
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      ssize_t n = ::recvmsg(m_sock.get(), &msg, MSG_CMSG_CLOEXEC);
      if (n <= 0) return false;
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; ++i) {
          int fd;
          std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
          fds.emplace_back(fd);
        }
      }
      got += static_cast<size_t>(n);
    }
    return true;
  }
  void serve() {
    for (;;) {
      Request r;
      if (!recv_exact(&r.header, sizeof r.header, r.fds) || r.header.size > 4096) break;
      r.payload.resize(r.header.size);
      if (r.header.size && !recv_exact(r.payload.data(), r.header.size, r.fds)) break;
      m_handler(*this, r);
      std::lock_guard l(m_mu);
      if (!keep_fds) r.fds.clear();
      m_log.push_back(std::move(r));
      m_cv.notify_all();
    }
    std::lock_guard l(m_mu);
    m_closed = true;
    m_cv.notify_all();
  }

  UniqueFd m_listen;
  UniqueFd m_sock;
  Handler m_handler;
  std::mutex m_mu;
  std::condition_variable m_cv;
  std::vector<Request> m_log;
  bool m_closed = false;
  bool m_stopping = false;
  std::thread m_thread;
};

/// Answers like libvhost-user: GET_* with the given values, GET_VRING_BASE with {index, base},
/// and an ack of 0 for every request that carries NEED_REPLY.
inline Handler standard_handler(uint64_t features, uint64_t protocol_features,
                                uint64_t queue_num = 2, uint32_t base = 0) {
  return [=](FakeBackend& b, const Request& r) {
    switch (r.code()) {
      case vhost_user::Request::get_features:
        return b.reply_u64(r, features);
      case vhost_user::Request::get_protocol_features:
        return b.reply_u64(r, protocol_features);
      case vhost_user::Request::get_queue_num:
        return b.reply_u64(r, queue_num);
      case vhost_user::Request::get_vring_base:
        return b.reply_state(r, r.state().index, base);
      default:
        if (r.header.flags & kFlagNeedReply) b.reply_u64(r, 0);
    }
  };
}

}  // namespace minivmm::vhost_user::test
