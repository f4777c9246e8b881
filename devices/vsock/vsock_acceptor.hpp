// HostAcceptor: the host-initiated half of the hybrid vsock host side on the event loop. It
// accepts host programs on the device's listening socket (bounded per wakeup, backing off on
// EMFILE-like errors instead of spinning) and runs the CONNECT handshake with each one
// (HandshakeParser, one deadline of handshake_timeout per socket), then hands the socket, the
// requested guest port and any bytes read past the line to its owner. It does not decide about
// the connection cap (its owner's admit hook does), speak to the guest or relay data
// (vsock_muxer.hpp). Not thread-safe: it runs on the event loop under the device's lock, and all
// its handlers go through the owner's Dispatch.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <unordered_map>

#include "vmm/sys/unique_fd.hpp"

namespace minivmm::vsock {

/// Runs a handler body on the event loop under the device's lock, or drops it when the device
/// was reset (or destroyed) in the meantime. Every asynchronous handler of the host side goes
/// through it, so the device decides about lifetime and locking.
using Dispatch = std::function<void(std::function<void()>)>;

struct AcceptorHooks {
  /// Whether one more host connection may start its handshake; when false the socket is closed
  /// at once (the hook counts the refusal).
  std::function<bool()> admit;
  /// A completed handshake: the socket, the guest port it asked for, and the bytes it sent after
  /// the newline (to be relayed to the guest first).
  std::function<void(UniqueFd fd, uint32_t guest_port, std::span<const uint8_t> leftover)> connect;
};

class HostAcceptor {
 public:
  /// `listener` is a descriptor of the listening socket the acceptor may close (a dup).
  HostAcceptor(boost::asio::io_context& io, UniqueFd listener,
               std::chrono::milliseconds handshake_timeout, Dispatch dispatch, AcceptorHooks hooks);
  ~HostAcceptor();
  HostAcceptor(const HostAcceptor&) = delete;
  HostAcceptor& operator=(const HostAcceptor&) = delete;

  /// Accepts what waits in the backlog, then keeps accepting as connections arrive.
  void start();
  /// Stops accepting and closes every handshake in progress (the backlog stays in the kernel).
  void stop();
  size_t handshake_count() const noexcept { return m_handshakes.size(); }

 private:
  struct Handshake;

  void arm_accept();
  void retry_accept(std::chrono::milliseconds delay);
  void accept_ready();
  void start_handshake(UniqueFd fd);
  void arm_handshake_read(Handshake& hs);
  void handshake_readable(uint64_t id);

  boost::asio::io_context& m_io;
  boost::asio::posix::stream_descriptor m_listener;
  boost::asio::steady_timer m_retry;
  std::chrono::milliseconds m_timeout;
  Dispatch m_dispatch;
  AcceptorHooks m_hooks;
  std::unordered_map<uint64_t, std::unique_ptr<Handshake>> m_handshakes;
  uint64_t m_next_id = 1;
};

}  // namespace minivmm::vsock
