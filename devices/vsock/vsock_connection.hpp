// VsockConnection: one stream connection between a guest port and a host Unix socket as a pure
// state machine (virtio v1.2 5.10.6.3 flow control, 5.10.6.4 connection state): its state, the
// shutdown flags of both sides, the credit accounting of both directions (buf_alloc / fwd_cnt in
// wrapping u32 arithmetic), the control packets it owes the guest and the bounded buffer of
// guest bytes not yet written to the host socket. The muxer feeds it events and asks it what to
// do next. It does no I/O, owns no descriptor and runs no timer (it only says which deadline
// applies), so every op in every state is testable without sockets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "devices/vsock/vsock_packet.hpp"

namespace minivmm::vsock {

enum class ConnState : uint8_t {
  connecting,   ///< host-initiated: REQUEST owed or sent to the guest, waiting for RESPONSE
  established,  ///< data flows (subject to shutdown flags and credit)
  closing,      ///< nothing flows any more either way: waiting for the guest's RST or a timeout
  closed,       ///< finished: remove it (sending an RST first when rst_owed())
};

/// The deadline the muxer must run for the current state.
enum class ConnTimer : uint8_t {
  none,
  request,  ///< connecting: the guest must answer the REQUEST within handshake_timeout
  close,    ///< closing: the guest must RST within close_timeout
};

/// What a guest packet did to the connection (for counting and logging).
enum class GuestEvent : uint8_t {
  accepted,    ///< a legal packet
  violation,   ///< a protocol violation: the connection is closed and owes the guest an RST
  peer_reset,  ///< the guest's RST: closed, nothing owed
};

/// A control packet the connection owes the guest.
struct ControlPacket {
  uint16_t op = 0;  ///< VIRTIO_VSOCK_OP_*
  uint32_t flags = 0;
};

class VsockConnection {
 public:
  /// A host program sent `CONNECT peer_port`; we speak from `local_port`. Owes a REQUEST.
  static VsockConnection host_initiated(uint32_t local_port, uint32_t peer_port,
                                        uint32_t buf_alloc);
  /// The guest's `request` reached a listening host socket. Established, owes a RESPONSE.
  static VsockConnection guest_initiated(const VsockHeader& request, uint32_t buf_alloc);

  uint32_t local_port() const noexcept { return m_local_port; }
  uint32_t peer_port() const noexcept { return m_peer_port; }
  ConnState state() const noexcept { return m_state; }
  ConnTimer timer() const noexcept;
  /// The guest knows about this connection (it saw our REQUEST or sent one).
  bool guest_aware() const noexcept { return m_guest_aware; }
  /// closed and the guest must be sent an RST.
  bool rst_owed() const noexcept { return m_rst_owed; }
  /// closed because of a violation, a host failure or a timeout (not an orderly close).
  bool failed() const noexcept { return m_failed; }

  // --- events from the guest ---
  /// Applies one packet the guest addressed to this connection; the header was validated by
  /// parse_tx_packet and `payload` holds its OP_RW bytes.
  GuestEvent on_guest_packet(const VsockHeader& h, std::span<const uint8_t> payload);

  /// A packet for this connection that parse_tx_packet() refused: closed, owing an RST unless
  /// `was_rst` (the guest was resetting it anyway).
  void on_guest_violation(bool was_rst) noexcept;

  // --- events from the host side ---
  /// `n` bytes of host_out() reached the host socket.
  void on_host_written(size_t n);
  /// The host socket reached end of file. `peer_closed`: the host program closed its socket
  /// entirely (it will not read either), not just shutdown(SHUT_WR); the guest is then told
  /// SHUTDOWN(RCV|SEND), as Firecracker does, instead of SHUTDOWN(SEND).
  void on_host_eof(bool peer_closed);
  /// The host socket failed (EPIPE, ECONNRESET, ...): closed, owes an RST if the guest knows.
  void on_host_failed();
  /// The deadline of timer() expired.
  void on_timeout();
  /// shutdown(SHUT_WR) / shutdown(SHUT_RD) was applied to the host socket.
  void on_host_write_shutdown() noexcept { m_host_wr_shut = true; }
  void on_host_read_shutdown() noexcept { m_host_rd_shut = true; }

  // --- what the host socket needs ---
  /// Bytes waiting for the host socket (the `OK <port>\n` reply, then guest data).
  std::span<const uint8_t> host_out() const noexcept;
  bool host_write_shutdown_due() const noexcept;
  bool host_read_shutdown_due() const noexcept;
  /// Reading the host socket is allowed (established, neither side shut that direction).
  bool wants_host_read() const noexcept;

  // --- what the guest needs ---
  bool has_control() const noexcept;
  /// Takes the next owed control packet, in the order REQUEST, RESPONSE, CREDIT_UPDATE,
  /// SHUTDOWN. RST is not in this list: a closed connection's RST is sent by the muxer.
  std::optional<ControlPacket> next_control() noexcept;
  /// How many bytes the guest can take now: peer_buf_alloc - (tx_cnt - peer_fwd_cnt), 0 when the
  /// guest's counters are inconsistent (5.10.6.3).
  uint32_t peer_credit() const noexcept;
  /// Host bytes read during the handshake, to be sent before anything read later.
  std::span<const uint8_t> host_prefix() const noexcept;
  void set_host_prefix(std::span<const uint8_t> bytes);
  void consume_host_prefix(size_t n) noexcept;
  /// `n` payload bytes went to the guest (n <= peer_credit()).
  void on_data_to_guest(uint32_t n) noexcept;
  /// Fills ports, type, credit fields and op/flags/len of a packet to the guest (not the CIDs);
  /// every packet carries our credit, so the owed CREDIT_UPDATE is cleared.
  VsockHeader make_header(uint16_t op, uint32_t flags, uint32_t len) noexcept;

  // --- credit counters (tests and statistics) ---
  uint32_t buf_alloc() const noexcept { return m_buf_alloc; }
  uint32_t fwd_cnt() const noexcept { return m_fwd_cnt; }
  uint32_t rx_cnt() const noexcept { return m_rx_cnt; }
  uint32_t tx_cnt() const noexcept { return m_tx_cnt; }
  /// Guest bytes received and not yet written to the host (<= buf_alloc()).
  uint32_t buffered() const noexcept { return m_rx_cnt - m_fwd_cnt; }

 private:
  enum Pending : uint8_t { kRequest = 1, kResponse = 2, kCreditUpdate = 4, kShutdown = 8 };

  VsockConnection(uint32_t local_port, uint32_t peer_port, uint32_t buf_alloc, ConnState s);
  GuestEvent on_connected_packet(const VsockHeader& h, std::span<const uint8_t> payload);
  GuestEvent violation() noexcept;
  void close(bool rst, bool failed) noexcept;
  void update_closing() noexcept;
  void append_out(std::span<const uint8_t> bytes);

  uint32_t m_local_port;
  uint32_t m_peer_port;
  ConnState m_state;
  bool m_guest_aware = false;
  bool m_rst_owed = false;
  bool m_failed = false;
  uint8_t m_pending = 0;
  // Shutdown: what the guest told us (5.10.6.5), what the host socket did, what we applied.
  bool m_guest_no_recv = false;
  bool m_guest_no_send = false;
  bool m_host_eof = false;
  bool m_host_gone = false;  ///< the host program closed its socket: nothing can be written
  bool m_host_wr_shut = false;
  bool m_host_rd_shut = false;
  // Credit we give the guest: buf_alloc and fwd_cnt (bytes written to the host socket).
  uint32_t m_buf_alloc;
  uint32_t m_fwd_cnt = 0;
  uint32_t m_fwd_cnt_sent = 0;  ///< fwd_cnt in the last packet sent to the guest
  uint32_t m_rx_cnt = 0;        ///< guest payload bytes received
  // Credit the guest gives us.
  uint32_t m_peer_buf_alloc = 0;
  uint32_t m_peer_fwd_cnt = 0;
  uint32_t m_tx_cnt = 0;  ///< payload bytes sent to the guest
  // Host-bound bytes: [m_out_head, end) of m_out; the first m_reply_left are the OK reply.
  std::vector<uint8_t> m_out;
  size_t m_out_head = 0;
  size_t m_reply_left = 0;
  std::vector<uint8_t> m_prefix;
  size_t m_prefix_head = 0;
};

}  // namespace minivmm::vsock
