// VsockMuxer: asio waits on the listener, handshakes and host sockets, each re-armed only after
// the descriptor reported EAGAIN (asio's epoll is edge-triggered) or was freshly registered. A
// host socket is read only inside next_rx_packet(), i.e. only when the device holds an RX buffer
// and the guest gave credit, so neither a flood nor a silent guest makes the loop spin or buffer.
// After every change a connection goes through sync(), which applies what its state machine
// asks for: host writes and shutdowns, timers, read waits, the RX queue, removal.
#include "devices/vsock/vsock_muxer.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "devices/vsock/vsock_unix.hpp"
#include "vmm/sys/rate_limit.hpp"

namespace minivmm::vsock {

namespace asio = boost::asio;

namespace {

constexpr uint32_t kLocalPortBase = 1u << 30;
constexpr uint32_t kLocalPortLast = 0xFFFF'FFFEu;  // 0xFFFFFFFF is VMADDR_PORT_ANY
constexpr size_t kRstBacklogSoft = 256;            // stop taking TX packets
constexpr size_t kRstBacklogHard = 4096;

uint64_t key_of(uint32_t local_port, uint32_t peer_port) {
  return (uint64_t{local_port} << 32) | peer_port;
}

bool would_block(int e) {
  return e == EAGAIN || e == EWOULDBLOCK || e == EINTR;
}

/// After end of file: did the host program close its socket entirely (POLLHUP: both directions
/// shut), rather than only shutdown(SHUT_WR)?
bool peer_closed(int fd) {
  pollfd p{fd, POLLOUT, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)) != 0;
}

RateLimiter& log_limit() {
  static RateLimiter limiter{10};
  return limiter;
}

}  // namespace

struct VsockMuxer::HostConn {
  HostConn(asio::io_context& io, uint64_t id_, VsockConnection c, UniqueFd fd)
      : id(id_), conn(std::move(c)), sock(io, fd.release()), timer(io) {}
  uint64_t key() const { return key_of(conn.local_port(), conn.peer_port()); }

  uint64_t id;
  VsockConnection conn;
  asio::posix::stream_descriptor sock;
  asio::steady_timer timer;
  ConnTimer armed = ConnTimer::none;
  bool readable = false;  ///< the socket reported readable and has not returned EAGAIN since
  bool read_waiting = false;
  bool write_waiting = false;
  bool in_rx_queue = false;
};

VsockMuxer::VsockMuxer(asio::io_context& io, MuxerConfig config, UniqueFd listener,
                       Dispatch dispatch, VsockCounters& counters)
    : m_io(io),
      m_config(std::move(config)),
      m_dispatch(std::move(dispatch)),
      m_counters(counters),
      m_acceptor(io, std::move(listener), m_config.handshake_timeout, m_dispatch,
                 AcceptorHooks{[this] { return admit_host_connection(); },
                               [this](UniqueFd fd, uint32_t port, std::span<const uint8_t> rest) {
                                 connect_to_guest(std::move(fd), port, rest);
                               }}),
      m_scratch(kMaxPayload),
      m_next_port(kLocalPortBase) {}

VsockMuxer::~VsockMuxer() {
  stop();
}

void VsockMuxer::start() {
  m_acceptor.start();  // including connections that waited in the backlog before activation
}

size_t VsockMuxer::stop() {
  const size_t n = m_conns.size();
  m_acceptor.stop();
  boost::system::error_code ignored;
  for (auto& [key, hc] : m_conns) {
    hc->sock.close(ignored);
    hc->timer.cancel();
  }
  m_conns.clear();
  m_local_ports.clear();
  m_rx_queue.clear();
  m_rsts.clear();
  m_counters.active_connections = 0;
  return n;
}

// --- connections from host programs and to host listeners ---

void VsockMuxer::connect_to_guest(UniqueFd fd, uint32_t guest_port,
                                  std::span<const uint8_t> leftover) {
  auto conn =
      VsockConnection::host_initiated(allocate_local_port(), guest_port, m_config.buffer_size);
  // Bytes the host sent right after its CONNECT line go to the guest first.
  conn.set_host_prefix(leftover);
  HostConn& hc = insert(std::move(conn), std::move(fd));
  sync(hc.key());
}

// --- guest packets ---

void VsockMuxer::on_guest_packet(const VsockHeader& h, std::span<const uint8_t> payload) {
  // Guest-controlled: ports only select a table entry; unknown ones never create state except
  // through REQUEST, which is capped.
  auto it = m_conns.find(key_of(h.dst_port, h.src_port));
  if (it == m_conns.end()) {
    if (h.op == VIRTIO_VSOCK_OP_REQUEST) return open_guest_connection(h);
    if (h.op != VIRTIO_VSOCK_OP_RST) refuse(h, "no such connection");
    return;
  }
  VsockConnection& c = it->second->conn;
  const ConnState before = c.state();
  if (c.on_guest_packet(h, payload) == GuestEvent::violation && log_limit().allow()) {
    spdlog::warn("vsock: guest op {} on {}:{} is a protocol violation: reset", h.op, h.src_port,
                 h.dst_port);
  }
  if (before == ConnState::connecting && c.state() == ConnState::established)
    ++m_counters.connections_opened;
  sync(it->first);
}

void VsockMuxer::on_guest_violation(const VsockHeader& h) {
  auto it = m_conns.find(key_of(h.dst_port, h.src_port));
  if (it == m_conns.end()) {
    if (h.op != VIRTIO_VSOCK_OP_RST) refuse(h, "malformed packet");
    return;
  }
  // A malformed RST still ends the connection, without an answer.
  it->second->conn.on_guest_violation(h.op == VIRTIO_VSOCK_OP_RST);
  sync(it->first);
}

void VsockMuxer::open_guest_connection(const VsockHeader& request) {
  if (at_capacity()) return refuse(request, "connection limit reached");
  int err = 0;
  // Guest-controlled: the port only picks `uds_path_<port>`; the path length was bounded at
  // create() for every u32.
  UniqueFd fd = connect_unix(port_path(m_config.uds_path, request.dst_port), err);
  if (!fd) return refuse(request, std::strerror(err));
  HostConn& hc =
      insert(VsockConnection::guest_initiated(request, m_config.buffer_size), std::move(fd));
  ++m_counters.connections_opened;
  sync(hc.key());
}

void VsockMuxer::refuse(const VsockHeader& h, const char* why) {
  ++m_counters.connections_reset;
  if (log_limit().allow()) {
    spdlog::debug("vsock: op {} from guest port {} to host port {}: RST ({})", h.op, h.src_port,
                  h.dst_port, why);
  }
  VsockHeader rst;
  rst.src_port = h.dst_port;
  rst.dst_port = h.src_port;
  rst.type = VIRTIO_VSOCK_TYPE_STREAM;
  rst.op = VIRTIO_VSOCK_OP_RST;
  push_rst(rst);
}

void VsockMuxer::push_rst(VsockHeader h) {
  if (m_rsts.size() >= kRstBacklogHard) {
    ++m_counters.dropped_packets;
    return;
  }
  m_rsts.push_back(h);
}

bool VsockMuxer::rx_backlog_full() const noexcept {
  return m_rsts.size() >= kRstBacklogSoft;
}

// --- the connection table ---

bool VsockMuxer::at_capacity() const noexcept {
  return m_conns.size() + m_acceptor.handshake_count() >= m_config.max_connections;
}

bool VsockMuxer::admit_host_connection() {
  if (!at_capacity()) return true;
  ++m_counters.connections_reset;
  if (log_limit().allow())
    spdlog::warn("vsock: host connection refused: {} connections", m_config.max_connections);
  return false;
}

uint32_t VsockMuxer::allocate_local_port() {
  // At most max_connections ports are in use, far fewer than the range: this ends.
  for (;;) {
    const uint32_t p = m_next_port;
    m_next_port = p >= kLocalPortLast ? kLocalPortBase : p + 1;
    if (!m_local_ports.contains(p)) return p;
  }
}

VsockMuxer::HostConn& VsockMuxer::insert(VsockConnection conn, UniqueFd fd) {
  ++m_local_ports[conn.local_port()];
  auto hc = std::make_unique<HostConn>(m_io, m_next_id++, std::move(conn), std::move(fd));
  HostConn& ref = *hc;
  m_conns[ref.key()] = std::move(hc);
  m_counters.active_connections = m_conns.size();
  return ref;
}

void VsockMuxer::remove(ConnMap::iterator it) {
  HostConn& hc = *it->second;
  VsockConnection& c = hc.conn;
  if (c.rst_owed()) push_rst(c.make_header(VIRTIO_VSOCK_OP_RST, 0, 0));
  if (c.failed()) ++m_counters.connections_reset;
  auto port = m_local_ports.find(c.local_port());
  if (port != m_local_ports.end() && --port->second == 0) m_local_ports.erase(port);
  boost::system::error_code ignored;
  hc.sock.close(ignored);
  hc.timer.cancel();
  m_conns.erase(it);
  m_counters.active_connections = m_conns.size();
}

void VsockMuxer::sync(uint64_t key) {
  auto it = m_conns.find(key);
  if (it == m_conns.end()) return;
  HostConn& hc = *it->second;
  VsockConnection& c = hc.conn;
  if (c.state() != ConnState::closed) flush_host(hc);
  if (c.host_read_shutdown_due()) {
    ::shutdown(hc.sock.native_handle(), SHUT_RD);
    c.on_host_read_shutdown();
  }
  if (c.state() == ConnState::closed) return remove(it);
  arm_timer(hc);
  if (c.wants_host_read() && !hc.readable && !hc.read_waiting) arm_read(hc);
  const bool data =
      c.wants_host_read() && c.peer_credit() > 0 && (hc.readable || !c.host_prefix().empty());
  if (!hc.in_rx_queue && (c.has_control() || data)) {
    hc.in_rx_queue = true;
    m_rx_queue.push_back(key);
  }
}

void VsockMuxer::flush_host(HostConn& hc) {
  VsockConnection& c = hc.conn;
  while (!c.host_out().empty() && !hc.write_waiting) {
    const auto out = c.host_out();
    ssize_t n =
        ::send(hc.sock.native_handle(), out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      c.on_host_written(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && would_block(errno)) return arm_write(hc);
    c.on_host_failed();  // EPIPE, ECONNRESET: the host program is gone
    return;
  }
  if (c.host_write_shutdown_due()) {
    ::shutdown(hc.sock.native_handle(), SHUT_WR);
    c.on_host_write_shutdown();
  }
}

template <typename Fn>
void VsockMuxer::on_conn_event(uint64_t key, uint64_t id, Fn&& fn) {
  auto it = m_conns.find(key);
  if (it == m_conns.end() || it->second->id != id) return;  // a later connection on that key
  fn(*it->second);
  sync(key);
}

void VsockMuxer::arm_read(HostConn& hc) {
  hc.read_waiting = true;
  hc.sock.async_wait(
      asio::posix::descriptor_base::wait_read,
      [this, d = m_dispatch, key = hc.key(), id = hc.id](const boost::system::error_code& ec) {
        if (ec) return;
        d([=, this] {
          on_conn_event(key, id, [](HostConn& c) {
            c.read_waiting = false;
            c.readable = true;
          });
        });
      });
}

void VsockMuxer::arm_write(HostConn& hc) {
  hc.write_waiting = true;
  hc.sock.async_wait(
      asio::posix::descriptor_base::wait_write,
      [this, d = m_dispatch, key = hc.key(), id = hc.id](const boost::system::error_code& ec) {
        if (ec) return;
        d([=, this] { on_conn_event(key, id, [](HostConn& c) { c.write_waiting = false; }); });
      });
}

void VsockMuxer::arm_timer(HostConn& hc) {
  const ConnTimer want = hc.conn.timer();
  if (want == hc.armed) return;
  hc.armed = want;
  hc.timer.cancel();
  if (want == ConnTimer::none) return;
  hc.timer.expires_after(want == ConnTimer::request ? m_config.handshake_timeout
                                                    : m_config.close_timeout);
  hc.timer.async_wait([this, d = m_dispatch, key = hc.key(), id = hc.id,
                       want](const boost::system::error_code& ec) {
    if (ec) return;
    d([=, this] {
      on_conn_event(key, id, [want](HostConn& c) {
        if (c.armed == want && c.conn.timer() == want) c.conn.on_timeout();
      });
    });
  });
}

// --- packets to the guest ---

std::optional<RxPacket> VsockMuxer::next_rx_packet(uint32_t max_payload) {
  for (;;) {
    if (!m_rsts.empty()) {
      RxPacket p = finish(m_rsts.front());
      m_rsts.pop_front();
      return p;
    }
    if (m_rx_queue.empty()) return std::nullopt;
    const uint64_t key = m_rx_queue.front();
    m_rx_queue.pop_front();
    auto it = m_conns.find(key);
    if (it == m_conns.end()) continue;
    it->second->in_rx_queue = false;
    std::optional<RxPacket> p = emit(*it->second, max_payload);
    sync(key);  // may queue it again (round robin), or remove it and queue its RST
    if (p) return p;
  }
}

std::optional<RxPacket> VsockMuxer::emit(HostConn& hc, uint32_t max_payload) {
  VsockConnection& c = hc.conn;
  if (auto ctl = c.next_control()) return finish(c.make_header(ctl->op, ctl->flags, 0));
  if (!c.wants_host_read()) return std::nullopt;
  const uint32_t n = std::min({max_payload, c.peer_credit(), static_cast<uint32_t>(kMaxPayload)});
  if (n == 0) return std::nullopt;
  return emit_data(hc, n);
}

std::optional<RxPacket> VsockMuxer::emit_data(HostConn& hc, uint32_t n) {
  VsockConnection& c = hc.conn;
  size_t got = 0;
  const auto prefix = c.host_prefix();
  if (!prefix.empty()) {
    got = std::min<size_t>(n, prefix.size());
    std::memcpy(m_scratch.data(), prefix.data(), got);
    c.consume_host_prefix(got);
  } else {
    if (!hc.readable) return std::nullopt;
    ssize_t r = ::recv(hc.sock.native_handle(), m_scratch.data(), n, MSG_DONTWAIT);
    if (r < 0 && would_block(errno)) {
      hc.readable = false;  // sync() waits for the next edge
      return std::nullopt;
    }
    if (r <= 0) {
      hc.readable = false;
      if (r == 0) {
        c.on_host_eof(peer_closed(hc.sock.native_handle()));  // owes SHUTDOWN: sent below
      } else {
        c.on_host_failed();
      }
      if (auto ctl = c.next_control()) return finish(c.make_header(ctl->op, ctl->flags, 0));
      return std::nullopt;
    }
    got = static_cast<size_t>(r);
  }
  c.on_data_to_guest(static_cast<uint32_t>(got));
  return finish(c.make_header(VIRTIO_VSOCK_OP_RW, 0, static_cast<uint32_t>(got)), got);
}

RxPacket VsockMuxer::finish(VsockHeader h, size_t payload_len) const noexcept {
  h.src_cid = kHostCid;
  h.dst_cid = m_config.guest_cid;
  return RxPacket{h, std::span<const uint8_t>(m_scratch.data(), payload_len)};
}

}  // namespace minivmm::vsock
