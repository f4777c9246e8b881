// VsockMuxer: the host side of the hybrid virtio-vsock device on the machine's event loop (the
// Firecracker / Cloud Hypervisor / Kata Dragonball convention). It owns the connection table and
// its cap, the host Unix sockets (from host programs that completed the CONNECT handshake, and
// non-blocking connects to `uds_path_<port>` for the guest), host-side port allocation, the relay
// between host sockets and VsockConnection state machines, and the queue of packets owed to the
// guest (connection control packets, host data within the guest's credit, RSTs). Accepting and
// the CONNECT handshake are delegated to HostAcceptor (vsock_acceptor.hpp). It does not
// touch guest memory or virtqueues: the device parses TX chains into headers for it and asks it
// for the next RX packet when it holds an RX buffer. Not thread-safe: every call, and every
// handler it registers (through Dispatch), runs on the event loop under the device's lock.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "devices/vsock/vsock_acceptor.hpp"
#include "devices/vsock/vsock_connection.hpp"
#include "devices/vsock/vsock_packet.hpp"
#include "vmm/sys/unique_fd.hpp"

namespace minivmm::vsock {

/// Device statistics. rx_* are packets the device put on the RX queue (to the guest), tx_* the
/// valid packets it took from the TX queue; bytes count payload only.
struct VsockCounters {
  uint64_t rx_packets = 0;
  uint64_t rx_bytes = 0;
  uint64_t tx_packets = 0;
  uint64_t tx_bytes = 0;
  uint64_t connections_opened = 0;  ///< connections that became established
  uint64_t connections_reset = 0;   ///< refusals, violations, host failures, timeouts (RST)
  uint64_t active_connections = 0;  ///< entries in the connection table now
  uint64_t dropped_packets = 0;     ///< TX packets dropped (CIDs, bad header) and lost RSTs
  uint64_t malformed_chains = 0;    ///< chains returned with used length 0
};

struct MuxerConfig {
  uint64_t guest_cid = 0;
  std::string uds_path;
  uint32_t max_connections = 0;  ///< table entries plus host handshakes in progress
  uint32_t buffer_size = 0;      ///< our buf_alloc: the per-connection host-bound bound
  std::chrono::milliseconds handshake_timeout{0};
  std::chrono::milliseconds close_timeout{0};
};

/// A packet for the guest. `payload` points into the muxer and is valid until its next call.
struct RxPacket {
  VsockHeader header;
  std::span<const uint8_t> payload;
};

class VsockMuxer {
 public:
  /// `listener` is a descriptor of the device's listening socket (a dup the muxer may close).
  VsockMuxer(boost::asio::io_context& io, MuxerConfig config, UniqueFd listener, Dispatch dispatch,
             VsockCounters& counters);
  ~VsockMuxer();
  VsockMuxer(const VsockMuxer&) = delete;
  VsockMuxer& operator=(const VsockMuxer&) = delete;

  /// Starts accepting host connections (including those already in the listener's backlog).
  void start();
  /// Closes every host socket and handshake and stops accepting; returns how many connections
  /// the table held. Host programs see end of file.
  size_t stop();

  /// A packet parse_tx_packet() accepted (TxVerdict::ok).
  void on_guest_packet(const VsockHeader& h, std::span<const uint8_t> payload);
  /// A packet parse_tx_packet() refused with TxVerdict::reset: RST (and close the connection).
  void on_guest_violation(const VsockHeader& h);

  /// Something may be owed to the guest (the device should hold an RX buffer for it).
  bool has_rx_work() const noexcept { return !m_rsts.empty() || !m_rx_queue.empty(); }
  /// The next packet for the guest with at most `max_payload` payload bytes (>= 1), reading a
  /// host socket only now, within the connection's credit; nullopt when nothing is ready.
  std::optional<RxPacket> next_rx_packet(uint32_t max_payload);
  /// So many RSTs wait for RX buffers that the device should stop taking TX packets.
  bool rx_backlog_full() const noexcept;

  size_t connection_count() const noexcept { return m_conns.size(); }
  size_t handshake_count() const noexcept { return m_acceptor.handshake_count(); }

 private:
  struct HostConn;
  using ConnMap = std::unordered_map<uint64_t, std::unique_ptr<HostConn>>;

  // Connections from host programs and to host listeners.
  bool admit_host_connection();
  void connect_to_guest(UniqueFd fd, uint32_t guest_port, std::span<const uint8_t> leftover);
  void open_guest_connection(const VsockHeader& request);
  void refuse(const VsockHeader& h, const char* why);
  // The connection table.
  bool at_capacity() const noexcept;
  uint32_t allocate_local_port();
  HostConn& insert(VsockConnection conn, UniqueFd fd);
  void sync(uint64_t key);
  void remove(ConnMap::iterator it);
  void flush_host(HostConn& hc);
  void arm_read(HostConn& hc);
  void arm_write(HostConn& hc);
  void arm_timer(HostConn& hc);
  template <typename Fn>
  void on_conn_event(uint64_t key, uint64_t id, Fn&& fn);
  // Packets to the guest.
  std::optional<RxPacket> emit(HostConn& hc, uint32_t max_payload);
  std::optional<RxPacket> emit_data(HostConn& hc, uint32_t n);
  RxPacket finish(VsockHeader h, size_t payload_len = 0) const noexcept;
  void push_rst(VsockHeader h);

  boost::asio::io_context& m_io;
  MuxerConfig m_config;
  Dispatch m_dispatch;
  VsockCounters& m_counters;
  HostAcceptor m_acceptor;
  ConnMap m_conns;
  std::unordered_map<uint32_t, uint32_t> m_local_ports;  ///< local port -> connections using it
  std::deque<uint64_t> m_rx_queue;  ///< connections with something for the guest, round robin
  std::deque<VsockHeader> m_rsts;   ///< RSTs for addresses with no connection (any more)
  std::vector<uint8_t> m_scratch;   ///< host bytes on their way to an RX buffer
  uint64_t m_next_id = 1;
  uint32_t m_next_port;
};

}  // namespace minivmm::vsock
