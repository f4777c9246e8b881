// VsockConnection: transitions, credit arithmetic and the host-bound byte buffer. Every counter
// is a wrapping u32 as on the wire; differences are taken modulo 2^32 and compared against
// buf_alloc values, so a wrap is harmless and an inconsistent guest counter yields no credit.
#include "devices/vsock/vsock_connection.hpp"

#include <algorithm>
#include <string>

namespace minivmm::vsock {

VsockConnection::VsockConnection(uint32_t local_port, uint32_t peer_port, uint32_t buf_alloc,
                                 ConnState s)
    : m_local_port(local_port), m_peer_port(peer_port), m_state(s), m_buf_alloc(buf_alloc) {}

VsockConnection VsockConnection::host_initiated(uint32_t local_port, uint32_t peer_port,
                                                uint32_t buf_alloc) {
  VsockConnection c(local_port, peer_port, buf_alloc, ConnState::connecting);
  c.m_pending = kRequest;
  return c;
}

VsockConnection VsockConnection::guest_initiated(const VsockHeader& request, uint32_t buf_alloc) {
  VsockConnection c(request.dst_port, request.src_port, buf_alloc, ConnState::established);
  c.m_guest_aware = true;
  c.m_pending = kResponse;
  // Guest-controlled: the peer's credit is only ever used through peer_credit()'s clamp.
  c.m_peer_buf_alloc = request.buf_alloc;
  c.m_peer_fwd_cnt = request.fwd_cnt;
  return c;
}

ConnTimer VsockConnection::timer() const noexcept {
  if (m_state == ConnState::connecting) return ConnTimer::request;
  if (m_state == ConnState::closing) return ConnTimer::close;
  return ConnTimer::none;
}

void VsockConnection::close(bool rst, bool failed) noexcept {
  m_state = ConnState::closed;
  m_rst_owed = rst && m_guest_aware;
  m_failed = failed;
  m_pending = 0;
}

GuestEvent VsockConnection::violation() noexcept {
  m_guest_aware = true;  // the guest used this address: answer it even before our REQUEST
  close(true, true);
  return GuestEvent::violation;
}

void VsockConnection::on_guest_violation(bool was_rst) noexcept {
  if (m_state == ConnState::closed) return;
  if (was_rst) {
    close(false, false);
  } else {
    violation();
  }
}

GuestEvent VsockConnection::on_guest_packet(const VsockHeader& h,
                                            std::span<const uint8_t> payload) {
  if (m_state == ConnState::closed) return GuestEvent::accepted;
  if (h.op == VIRTIO_VSOCK_OP_RST) {
    close(false, false);
    return GuestEvent::peer_reset;
  }
  // Guest-controlled: every packet carries the guest's credit (5.10.6.3); clamped on use.
  m_peer_buf_alloc = h.buf_alloc;
  m_peer_fwd_cnt = h.fwd_cnt;
  if (m_state == ConnState::connecting) {
    // Guest-controlled: only a RESPONSE to a REQUEST the guest has seen is legal here.
    if (h.op != VIRTIO_VSOCK_OP_RESPONSE || !m_guest_aware) return violation();
    m_state = ConnState::established;
    std::string reply = "OK " + std::to_string(m_local_port) + "\n";
    append_out({reinterpret_cast<const uint8_t*>(reply.data()), reply.size()});
    m_reply_left = reply.size();
    return GuestEvent::accepted;
  }
  return on_connected_packet(h, payload);
}

GuestEvent VsockConnection::on_connected_packet(const VsockHeader& h,
                                                std::span<const uint8_t> payload) {
  switch (h.op) {
    case VIRTIO_VSOCK_OP_RW:
      // Guest-controlled: no data after SHUTDOWN(SEND); never beyond the credit we gave, which
      // bounds the host-bound buffer at buf_alloc.
      if (m_guest_no_send || uint64_t{buffered()} + payload.size() > m_buf_alloc) {
        return violation();
      }
      // Data sent before the guest saw our SHUTDOWN(RCV) cannot reach a closed host: reset.
      if (m_host_gone && !payload.empty()) {
        close(true, true);
        return GuestEvent::accepted;
      }
      append_out(payload);
      m_rx_cnt += static_cast<uint32_t>(payload.size());
      return GuestEvent::accepted;
    case VIRTIO_VSOCK_OP_SHUTDOWN:
      // Guest-controlled: unknown flag bits are ignored.
      m_guest_no_recv |= (h.flags & VIRTIO_VSOCK_SHUTDOWN_RCV) != 0;
      m_guest_no_send |= (h.flags & VIRTIO_VSOCK_SHUTDOWN_SEND) != 0;
      if (m_guest_no_recv) m_pending &= static_cast<uint8_t>(~kShutdown);
      update_closing();
      return GuestEvent::accepted;
    case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
      return GuestEvent::accepted;
    case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
      if (m_state == ConnState::established) m_pending |= kCreditUpdate;
      return GuestEvent::accepted;
    default:  // a duplicate REQUEST or an unsolicited RESPONSE
      return violation();
  }
}

void VsockConnection::update_closing() noexcept {
  if (m_state != ConnState::established && m_state != ConnState::closing) return;
  const bool to_guest_done = m_host_eof || m_guest_no_recv;
  const bool to_host_done = m_guest_no_send || m_host_gone;
  if (to_host_done && to_guest_done) m_state = ConnState::closing;
  // A full SHUTDOWN from the guest is answered with RST once its data reached the host (the
  // Linux peer does the same); otherwise wait for the guest's RST or the close timer.
  if (m_state == ConnState::closing && m_guest_no_recv && m_guest_no_send && host_out().empty()) {
    close(true, false);
  }
}

void VsockConnection::append_out(std::span<const uint8_t> bytes) {
  if (m_out_head > 0 && m_out_head >= m_out.size() / 2) {
    m_out.erase(m_out.begin(), m_out.begin() + static_cast<std::ptrdiff_t>(m_out_head));
    m_out_head = 0;
  }
  m_out.insert(m_out.end(), bytes.begin(), bytes.end());
}

void VsockConnection::on_host_written(size_t n) {
  n = std::min(n, m_out.size() - m_out_head);
  m_out_head += n;
  const size_t reply = std::min(n, m_reply_left);
  m_reply_left -= reply;
  m_fwd_cnt += static_cast<uint32_t>(n - reply);
  if (m_out_head == m_out.size()) {
    m_out.clear();
    m_out_head = 0;
  }
  // Tell the guest about freed space before it stalls: once half of buf_alloc was forwarded
  // since the last packet that carried fwd_cnt.
  if (m_state == ConnState::established && !m_guest_no_send &&
      m_fwd_cnt - m_fwd_cnt_sent >= m_buf_alloc / 2 && m_fwd_cnt != m_fwd_cnt_sent) {
    m_pending |= kCreditUpdate;
  }
  update_closing();
}

void VsockConnection::on_host_eof(bool peer_closed) {
  if (m_state != ConnState::established || m_host_eof) return;
  m_host_eof = true;
  m_host_gone = peer_closed;
  if (!m_guest_no_recv) m_pending |= kShutdown;
  update_closing();
}

void VsockConnection::on_host_failed() {
  if (m_state != ConnState::closed) close(true, true);
}

void VsockConnection::on_timeout() {
  if (m_state == ConnState::connecting) close(true, true);
  if (m_state == ConnState::closing) close(true, !host_out().empty());
}

std::span<const uint8_t> VsockConnection::host_out() const noexcept {
  return std::span<const uint8_t>(m_out).subspan(m_out_head);
}

bool VsockConnection::host_write_shutdown_due() const noexcept {
  return (m_state == ConnState::established || m_state == ConnState::closing) && m_guest_no_send &&
         !m_host_wr_shut && !m_host_gone && host_out().empty();
}

bool VsockConnection::host_read_shutdown_due() const noexcept {
  return (m_state == ConnState::established || m_state == ConnState::closing) && m_guest_no_recv &&
         !m_host_rd_shut && !m_host_gone;
}

bool VsockConnection::wants_host_read() const noexcept {
  return m_state == ConnState::established && !m_host_eof && !m_guest_no_recv;
}

bool VsockConnection::has_control() const noexcept {
  return m_pending != 0;
}

std::optional<ControlPacket> VsockConnection::next_control() noexcept {
  if (m_pending & kRequest) {
    m_pending &= static_cast<uint8_t>(~kRequest);
    m_guest_aware = true;
    return ControlPacket{VIRTIO_VSOCK_OP_REQUEST, 0};
  }
  if (m_pending & kResponse) {
    m_pending &= static_cast<uint8_t>(~kResponse);
    return ControlPacket{VIRTIO_VSOCK_OP_RESPONSE, 0};
  }
  if (m_pending & kCreditUpdate) {
    m_pending &= static_cast<uint8_t>(~kCreditUpdate);
    return ControlPacket{VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0};
  }
  if (m_pending & kShutdown) {
    m_pending &= static_cast<uint8_t>(~kShutdown);
    const uint32_t rcv = m_host_gone ? VIRTIO_VSOCK_SHUTDOWN_RCV : 0;
    return ControlPacket{VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_SHUTDOWN_SEND | rcv};
  }
  return std::nullopt;
}

uint32_t VsockConnection::peer_credit() const noexcept {
  const uint32_t in_flight = m_tx_cnt - m_peer_fwd_cnt;  // wrapping
  return in_flight > m_peer_buf_alloc ? 0 : m_peer_buf_alloc - in_flight;
}

std::span<const uint8_t> VsockConnection::host_prefix() const noexcept {
  return std::span<const uint8_t>(m_prefix).subspan(m_prefix_head);
}

void VsockConnection::set_host_prefix(std::span<const uint8_t> bytes) {
  m_prefix.assign(bytes.begin(), bytes.end());
  m_prefix_head = 0;
}

void VsockConnection::consume_host_prefix(size_t n) noexcept {
  m_prefix_head += std::min(n, m_prefix.size() - m_prefix_head);
  if (m_prefix_head == m_prefix.size()) {
    m_prefix.clear();
    m_prefix_head = 0;
  }
}

void VsockConnection::on_data_to_guest(uint32_t n) noexcept {
  m_tx_cnt += n;
}

VsockHeader VsockConnection::make_header(uint16_t op, uint32_t flags, uint32_t len) noexcept {
  VsockHeader h;
  h.src_port = m_local_port;
  h.dst_port = m_peer_port;
  h.len = len;
  h.type = VIRTIO_VSOCK_TYPE_STREAM;
  h.op = op;
  h.flags = flags;
  h.buf_alloc = m_buf_alloc;
  h.fwd_cnt = m_fwd_cnt;
  m_fwd_cnt_sent = m_fwd_cnt;
  m_pending &= static_cast<uint8_t>(~kCreditUpdate);
  return h;
}

}  // namespace minivmm::vsock
