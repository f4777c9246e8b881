// HostAcceptor: asio's epoll reactor is edge-triggered, so every wait is re-armed only after the
// descriptor returned EAGAIN (or right after it was registered); when the accept budget runs out
// with connections left in the backlog, a zero-delay timer continues instead of a wait.
#include "devices/vsock/vsock_acceptor.hpp"

#include <sys/socket.h>

#include <spdlog/spdlog.h>
#include <array>
#include <cerrno>
#include <cstring>

#include "devices/vsock/vsock_handshake.hpp"
#include "vmm/sys/rate_limit.hpp"

namespace minivmm::vsock {

namespace asio = boost::asio;

namespace {

constexpr unsigned kAcceptBudget = 32;
constexpr auto kAcceptRetry = std::chrono::milliseconds(100);

RateLimiter& log_limit() {
  static RateLimiter limiter{10};
  return limiter;
}

}  // namespace

struct HostAcceptor::Handshake {
  Handshake(asio::io_context& io, uint64_t id_, UniqueFd fd)
      : id(id_), sock(io, fd.release()), timer(io) {}
  uint64_t id;
  asio::posix::stream_descriptor sock;
  asio::steady_timer timer;
  HandshakeParser parser;
};

HostAcceptor::HostAcceptor(asio::io_context& io, UniqueFd listener,
                           std::chrono::milliseconds handshake_timeout, Dispatch dispatch,
                           AcceptorHooks hooks)
    : m_io(io),
      m_listener(io, listener.release()),
      m_retry(io),
      m_timeout(handshake_timeout),
      m_dispatch(std::move(dispatch)),
      m_hooks(std::move(hooks)) {}

HostAcceptor::~HostAcceptor() {
  stop();
}

void HostAcceptor::start() {
  accept_ready();
}

void HostAcceptor::stop() {
  boost::system::error_code ignored;
  m_listener.close(ignored);
  m_retry.cancel();
  for (auto& [id, hs] : m_handshakes) {
    hs->sock.close(ignored);
    hs->timer.cancel();
  }
  m_handshakes.clear();
}

void HostAcceptor::arm_accept() {
  m_listener.async_wait(asio::posix::descriptor_base::wait_read,
                        [this, d = m_dispatch](const boost::system::error_code& ec) {
                          if (!ec) d([this] { accept_ready(); });
                        });
}

void HostAcceptor::retry_accept(std::chrono::milliseconds delay) {
  m_retry.expires_after(delay);
  m_retry.async_wait([this, d = m_dispatch](const boost::system::error_code& ec) {
    if (!ec) d([this] { accept_ready(); });
  });
}

void HostAcceptor::accept_ready() {
  if (!m_listener.is_open()) return;
  for (unsigned i = 0; i < kAcceptBudget; ++i) {
    UniqueFd fd(
        ::accept4(m_listener.native_handle(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) {
      const int e = errno;
      if (e == EAGAIN || e == EWOULDBLOCK) return arm_accept();
      if (e == EINTR || e == ECONNABORTED) continue;
      // EMFILE, ENFILE, ENOBUFS: the listener stays readable; retry later instead of spinning.
      if (log_limit().allow()) spdlog::warn("vsock: accept: {}", std::strerror(e));
      return retry_accept(kAcceptRetry);
    }
    if (!m_hooks.admit()) continue;  // closing fd: the host program sees end of file
    start_handshake(std::move(fd));
  }
  // Budget used up: the backlog may hold more, which the edge-triggered wait would not report
  // again, so continue from the loop after other handlers had their turn.
  retry_accept(std::chrono::milliseconds(0));
}

void HostAcceptor::start_handshake(UniqueFd fd) {
  const uint64_t id = m_next_id++;
  auto hs = std::make_unique<Handshake>(m_io, id, std::move(fd));
  hs->timer.expires_after(m_timeout);
  hs->timer.async_wait([this, d = m_dispatch, id](const boost::system::error_code& ec) {
    if (ec) return;
    d([this, id] {
      if (m_handshakes.erase(id) != 0 && log_limit().allow())
        spdlog::warn("vsock: a host program sent no CONNECT line in time");
    });
  });
  arm_handshake_read(*hs);
  m_handshakes.emplace(id, std::move(hs));
}

void HostAcceptor::arm_handshake_read(Handshake& hs) {
  hs.sock.async_wait(asio::posix::descriptor_base::wait_read,
                     [this, d = m_dispatch, id = hs.id](const boost::system::error_code& ec) {
                       if (!ec) d([this, id] { handshake_readable(id); });
                     });
}

void HostAcceptor::handshake_readable(uint64_t id) {
  auto it = m_handshakes.find(id);
  if (it == m_handshakes.end()) return;
  Handshake& hs = *it->second;
  std::array<uint8_t, HandshakeParser::kMaxLine> buf;
  // The parser refuses lines above kMaxLine bytes, so this reads at most two buffers.
  for (;;) {
    const ssize_t r = ::recv(hs.sock.native_handle(), buf.data(), buf.size(), MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
      return arm_handshake_read(hs);
    if (r <= 0) {  // end of file or an error before a whole line
      m_handshakes.erase(it);
      return;
    }
    const HandshakeStep s = hs.parser.feed({buf.data(), static_cast<size_t>(r)});
    if (s.status == HandshakeStatus::need_more) continue;
    if (s.status == HandshakeStatus::invalid) {
      if (log_limit().allow()) spdlog::warn("vsock: malformed CONNECT line from a host program");
      m_handshakes.erase(it);
      return;
    }
    UniqueFd fd(hs.sock.release());
    m_handshakes.erase(it);
    m_hooks.connect(std::move(fd), s.port,
                    {buf.data() + s.consumed, static_cast<size_t>(r) - s.consumed});
    return;
  }
}

}  // namespace minivmm::vsock
