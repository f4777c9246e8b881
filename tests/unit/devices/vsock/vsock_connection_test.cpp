// Unit tests of VsockConnection without sockets: every guest op in every state (connecting,
// established, closing), the shutdown sequences of both sides, timeouts, host failures, the
// control packets owed to the guest and their order, and the credit arithmetic of both
// directions including u32 wrap-around and inconsistent guest counters.
#include "devices/vsock/vsock_connection.hpp"

#include <string>
#include <vector>

#include <doctest/doctest.h>

namespace minivmm::vsock {
namespace {

TEST_SUITE_BEGIN("vsock/connection");

constexpr uint32_t kLocal = 1u << 30;
constexpr uint32_t kPeer = 52;
constexpr uint32_t kBuf = 1000;

VsockHeader pkt(uint16_t op, uint32_t flags = 0, uint32_t len = 0, uint32_t buf_alloc = 5000,
                uint32_t fwd_cnt = 0) {
  VsockHeader h;
  h.src_cid = 3;
  h.dst_cid = 2;
  h.src_port = kPeer;
  h.dst_port = kLocal;
  h.type = VIRTIO_VSOCK_TYPE_STREAM;
  h.op = op;
  h.flags = flags;
  h.len = len;
  h.buf_alloc = buf_alloc;
  h.fwd_cnt = fwd_cnt;
  return h;
}

std::string out_string(const VsockConnection& c) {
  auto o = c.host_out();
  return std::string(o.begin(), o.end());
}

/// A guest-initiated connection with its RESPONSE already taken.
VsockConnection established(uint32_t guest_buf = 5000) {
  VsockHeader req = pkt(VIRTIO_VSOCK_OP_REQUEST, 0, 0, guest_buf);
  req.dst_port = kLocal;
  VsockConnection c = VsockConnection::guest_initiated(req, kBuf);
  REQUIRE(c.next_control()->op == VIRTIO_VSOCK_OP_RESPONSE);
  return c;
}

/// A host-initiated connection whose REQUEST went to the guest.
VsockConnection connecting() {
  VsockConnection c = VsockConnection::host_initiated(kLocal, kPeer, kBuf);
  REQUIRE(c.next_control()->op == VIRTIO_VSOCK_OP_REQUEST);
  return c;
}

/// An established connection where the guest shut down sending and the host reached EOF.
VsockConnection closing() {
  VsockConnection c = established();
  c.on_host_eof(false);
  REQUIRE(c.next_control()->op == VIRTIO_VSOCK_OP_SHUTDOWN);
  REQUIRE(c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_SHUTDOWN_SEND), {}) ==
          GuestEvent::accepted);
  REQUIRE(c.state() == ConnState::closing);
  return c;
}

TEST_CASE("a host-initiated connection owes a REQUEST and waits with the request timer") {
  VsockConnection c = VsockConnection::host_initiated(kLocal, kPeer, kBuf);
  CHECK(c.state() == ConnState::connecting);
  CHECK(c.timer() == ConnTimer::request);
  CHECK_FALSE(c.guest_aware());
  CHECK_FALSE(c.wants_host_read());
  auto ctl = c.next_control();
  REQUIRE(ctl);
  CHECK(ctl->op == VIRTIO_VSOCK_OP_REQUEST);
  CHECK(c.guest_aware());
  CHECK_FALSE(c.next_control());
  VsockHeader h = c.make_header(ctl->op, 0, 0);
  CHECK(h.src_port == kLocal);
  CHECK(h.dst_port == kPeer);
  CHECK(h.type == VIRTIO_VSOCK_TYPE_STREAM);
  CHECK(h.buf_alloc == kBuf);
  CHECK(h.fwd_cnt == 0);
}

TEST_CASE("connecting: RESPONSE establishes and queues the OK reply for the host") {
  VsockConnection c = connecting();
  CHECK(c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_RESPONSE), {}) == GuestEvent::accepted);
  CHECK(c.state() == ConnState::established);
  CHECK(c.timer() == ConnTimer::none);
  CHECK(out_string(c) == "OK 1073741824\n");
  CHECK(c.wants_host_read());
  // The reply does not count as forwarded guest data.
  c.on_host_written(c.host_out().size());
  CHECK(c.fwd_cnt() == 0);
  CHECK(c.host_out().empty());
}

TEST_CASE("connecting: a RESPONSE before our REQUEST was sent is a violation") {
  VsockConnection c = VsockConnection::host_initiated(kLocal, kPeer, kBuf);
  CHECK(c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_RESPONSE), {}) == GuestEvent::violation);
  CHECK(c.state() == ConnState::closed);
  CHECK(c.rst_owed());
  CHECK(c.failed());
}

TEST_CASE("connecting: RST closes without an answer") {
  VsockConnection c = connecting();
  CHECK(c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_RST), {}) == GuestEvent::peer_reset);
  CHECK(c.state() == ConnState::closed);
  CHECK_FALSE(c.rst_owed());
  CHECK_FALSE(c.failed());
}

TEST_CASE("connecting: every other op is a violation that owes an RST") {
  for (uint16_t op : {VIRTIO_VSOCK_OP_REQUEST, VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_OP_RW,
                      VIRTIO_VSOCK_OP_CREDIT_UPDATE, VIRTIO_VSOCK_OP_CREDIT_REQUEST}) {
    CAPTURE(op);
    VsockConnection c = connecting();
    CHECK(c.on_guest_packet(pkt(op), {}) == GuestEvent::violation);
    CHECK(c.state() == ConnState::closed);
    CHECK(c.rst_owed());
    CHECK(c.host_out().empty());
  }
}

TEST_CASE("connecting: the request timeout closes, with an RST only if the guest saw REQUEST") {
  VsockConnection c = connecting();
  c.on_timeout();
  CHECK(c.state() == ConnState::closed);
  CHECK(c.rst_owed());
  CHECK(c.failed());
  VsockConnection unsent = VsockConnection::host_initiated(kLocal, kPeer, kBuf);
  unsent.on_timeout();
  CHECK(unsent.state() == ConnState::closed);
  CHECK_FALSE(unsent.rst_owed());
}

TEST_CASE(
    "a guest-initiated connection is established, owes RESPONSE and takes the guest's credit") {
  VsockHeader req = pkt(VIRTIO_VSOCK_OP_REQUEST, 0, 0, 777, 0);
  VsockConnection c = VsockConnection::guest_initiated(req, kBuf);
  CHECK(c.state() == ConnState::established);
  CHECK(c.local_port() == kLocal);
  CHECK(c.peer_port() == kPeer);
  CHECK(c.guest_aware());
  CHECK(c.next_control()->op == VIRTIO_VSOCK_OP_RESPONSE);
  CHECK(c.peer_credit() == 777);
}

TEST_CASE("established: RW within credit is buffered for the host and counted") {
  VsockConnection c = established();
  std::vector<uint8_t> data(600, 'x');
  CHECK(c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_RW, 0, 600), data) == GuestEvent::accepted);
  CHECK(c.host_out().size() == 600);
  CHECK(c.rx_cnt() == 600);
  CHECK(c.buffered() == 600);
  c.on_host_written(250);
  CHECK(c.fwd_cnt() == 250);
  CHECK(c.buffered() == 350);
  CHECK(c.host_out().size() == 350);
  // 350 buffered + 650 = 1000 fits exactly.
  std::vector<uint8_t> more(650, 'y');
  CHECK(c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_RW, 0, 650), more) == GuestEvent::accepted);
  CHECK(c.buffered() == kBuf);
}

TEST_CASE("established: RW beyond the credit we gave is a violation; the buffer stays bounded") {
  VsockConnection c = established();
  std::vector<uint8_t> data(kBuf, 'x');
  REQUIRE(c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_RW, 0, kBuf), data) == GuestEvent::accepted);
  std::vector<uint8_t> one(1, 'z');
  CHECK(c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_RW, 0, 1), one) == GuestEvent::violation);
  CHECK(c.state() == ConnState::closed);
  CHECK(c.rst_owed());
  CHECK(c.buffered() <= kBuf);
}

TEST_CASE("established: an empty RW is harmless") {
  VsockConnection c = established();
  CHECK(c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_RW), {}) == GuestEvent::accepted);
  CHECK(c.host_out().empty());
}

TEST_CASE("established: duplicate REQUEST and unsolicited RESPONSE are violations") {
  for (uint16_t op : {VIRTIO_VSOCK_OP_REQUEST, VIRTIO_VSOCK_OP_RESPONSE}) {
    VsockConnection c = established();
    CHECK(c.on_guest_packet(pkt(op), {}) == GuestEvent::violation);
    CHECK(c.rst_owed());
  }
}

TEST_CASE("established: RST closes quietly") {
  VsockConnection c = established();
  CHECK(c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_RST), {}) == GuestEvent::peer_reset);
  CHECK(c.state() == ConnState::closed);
  CHECK_FALSE(c.rst_owed());
}

TEST_CASE("established: CREDIT_REQUEST owes a CREDIT_UPDATE; CREDIT_UPDATE updates credit") {
  VsockConnection c = established(100);
  CHECK(c.peer_credit() == 100);
  CHECK(c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, 0, 300, 0), {}) ==
        GuestEvent::accepted);
  CHECK(c.peer_credit() == 300);
  CHECK_FALSE(c.has_control());
  CHECK(c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_CREDIT_REQUEST, 0, 0, 300, 0), {}) ==
        GuestEvent::accepted);
  REQUIRE(c.has_control());
  CHECK(c.next_control()->op == VIRTIO_VSOCK_OP_CREDIT_UPDATE);
}

TEST_CASE("every header carries our credit, which settles an owed CREDIT_UPDATE") {
  VsockConnection c = established();
  c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_CREDIT_REQUEST), {});
  std::vector<uint8_t> data(10, 'a');
  c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_RW, 0, 10), data);
  c.on_host_written(10);
  VsockHeader h = c.make_header(VIRTIO_VSOCK_OP_RW, 0, 5);
  CHECK(h.fwd_cnt == 10);
  CHECK(h.buf_alloc == kBuf);
  CHECK_FALSE(c.has_control());
}

TEST_CASE("a CREDIT_UPDATE is owed once half of buf_alloc was forwarded since the last one") {
  VsockConnection c = established();
  std::vector<uint8_t> data(kBuf, 'a');
  c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_RW, 0, kBuf), data);
  c.on_host_written(kBuf / 2 - 1);
  CHECK_FALSE(c.has_control());
  c.on_host_written(1);
  REQUIRE(c.has_control());
  CHECK(c.next_control()->op == VIRTIO_VSOCK_OP_CREDIT_UPDATE);
  CHECK(c.make_header(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, 0).fwd_cnt == kBuf / 2);
  c.on_host_written(kBuf / 2 - 1);
  CHECK_FALSE(c.has_control());
}

TEST_CASE("peer credit: buf_alloc minus bytes in flight") {
  VsockConnection c = established(1000);
  CHECK(c.peer_credit() == 1000);
  c.on_data_to_guest(600);
  CHECK(c.peer_credit() == 400);
  c.on_data_to_guest(400);
  CHECK(c.peer_credit() == 0);
  c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, 0, 1000, 700), {});
  CHECK(c.peer_credit() == 700);
  // The guest shrinking its buffer below what is in flight gives no credit, not a wrap.
  c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, 0, 100, 700), {});
  CHECK(c.peer_credit() == 0);
}

TEST_CASE("peer credit across an explicit wrap, and a guest fwd_cnt ahead of tx_cnt") {
  VsockConnection c = established(1000);
  c.on_data_to_guest(0xFFFF'FF00u);
  c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, 0, 1000, 0xFFFF'FF00u), {});
  CHECK(c.peer_credit() == 1000);
  c.on_data_to_guest(0x200);  // tx_cnt wraps to 0x100
  CHECK(c.tx_cnt() == 0x100);
  CHECK(c.peer_credit() == 1000 - 0x200);
  c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, 0, 1000, 0x100), {});
  CHECK(c.peer_credit() == 1000);
  // A lying guest claims to have consumed more than we sent: no credit at all.
  c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, 0, 1000, 0x200), {});
  CHECK(c.peer_credit() == 0);
}

TEST_CASE("our credit check survives the u32 wrap of rx_cnt and fwd_cnt") {
  // 4 GiB through a connection with an 8 MiB window: rx_cnt and fwd_cnt wrap once.
  constexpr uint32_t kBig = 8u << 20;
  VsockHeader req = pkt(VIRTIO_VSOCK_OP_REQUEST);
  VsockConnection c = VsockConnection::guest_initiated(req, kBig);
  std::vector<uint8_t> data(kBig, 'a');
  for (int i = 0; i < 512; ++i) {
    REQUIRE(c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_RW, 0, kBig), data) == GuestEvent::accepted);
    c.on_host_written(kBig - 1);
    c.on_host_written(1);
  }
  CHECK(c.rx_cnt() == 0);  // 2^32 wrapped to 0
  CHECK(c.fwd_cnt() == 0);
  std::vector<uint8_t> part(kBig - 10, 'b');
  REQUIRE(c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_RW, 0, kBig - 10), part) == GuestEvent::accepted);
  c.on_host_written(kBig - 20);  // fwd_cnt 0 + kBig - 20; 10 bytes still buffered
  CHECK(c.buffered() == 10);
  std::vector<uint8_t> fill(kBig - 10, 'c');
  CHECK(c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_RW, 0, kBig - 10), fill) == GuestEvent::accepted);
  std::vector<uint8_t> one(1, 'd');
  CHECK(c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_RW, 0, 1), one) == GuestEvent::violation);
}

TEST_CASE("guest SHUTDOWN(SEND): the host write side is shut after the buffer drains") {
  VsockConnection c = established();
  std::vector<uint8_t> data(10, 'a');
  c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_RW, 0, 10), data);
  c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_SHUTDOWN_SEND), {});
  CHECK(c.state() == ConnState::established);
  CHECK_FALSE(c.host_write_shutdown_due());
  c.on_host_written(10);
  CHECK(c.host_write_shutdown_due());
  c.on_host_write_shutdown();
  CHECK_FALSE(c.host_write_shutdown_due());
  CHECK(c.wants_host_read());  // the other direction still flows
  // Data after SHUTDOWN(SEND) is a violation.
  CHECK(c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_RW, 0, 10), data) == GuestEvent::violation);
}

TEST_CASE("guest SHUTDOWN(RCV): the host is no longer read and its read side is shut") {
  VsockConnection c = established();
  c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_SHUTDOWN_RCV), {});
  CHECK_FALSE(c.wants_host_read());
  CHECK(c.host_read_shutdown_due());
  c.on_host_read_shutdown();
  CHECK_FALSE(c.host_read_shutdown_due());
  CHECK(c.state() == ConnState::established);
  std::vector<uint8_t> data(3, 'a');
  CHECK(c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_RW, 0, 3), data) == GuestEvent::accepted);
}

TEST_CASE("a full guest SHUTDOWN is answered with RST once the buffer reached the host") {
  VsockConnection c = established();
  std::vector<uint8_t> data(10, 'a');
  c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_RW, 0, 10), data);
  c.on_guest_packet(
      pkt(VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND), {});
  CHECK(c.state() == ConnState::closing);
  CHECK(c.timer() == ConnTimer::close);
  c.on_host_written(10);
  CHECK(c.state() == ConnState::closed);
  CHECK(c.rst_owed());
  CHECK_FALSE(c.failed());
}

TEST_CASE("a full guest SHUTDOWN with nothing buffered closes at once; flags accumulate") {
  VsockConnection c = established();
  c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_SHUTDOWN_RCV), {});
  c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_SHUTDOWN_SEND | 0xF0), {});
  CHECK(c.state() == ConnState::closed);
  CHECK(c.rst_owed());
}

TEST_CASE("host EOF owes SHUTDOWN(SEND) and stops reading") {
  VsockConnection c = established();
  c.on_host_eof(false);
  CHECK_FALSE(c.wants_host_read());
  auto ctl = c.next_control();
  REQUIRE(ctl);
  CHECK(ctl->op == VIRTIO_VSOCK_OP_SHUTDOWN);
  CHECK(ctl->flags == VIRTIO_VSOCK_SHUTDOWN_SEND);
  CHECK(c.state() == ConnState::established);  // the guest may still send
  c.on_host_eof(false);
  CHECK_FALSE(c.has_control());
}

TEST_CASE("a host that closed entirely owes SHUTDOWN(RCV|SEND) and the connection is closing") {
  VsockConnection c = established();
  c.on_host_eof(true);
  CHECK(c.state() == ConnState::closing);
  CHECK(c.timer() == ConnTimer::close);
  auto ctl = c.next_control();
  REQUIRE(ctl);
  CHECK(ctl->op == VIRTIO_VSOCK_OP_SHUTDOWN);
  CHECK(ctl->flags == (VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND));
  CHECK_FALSE(c.host_write_shutdown_due());
  CHECK_FALSE(c.wants_host_read());
  // The guest's answer: RST.
  CHECK(c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_RST), {}) == GuestEvent::peer_reset);
  CHECK_FALSE(c.rst_owed());
}

TEST_CASE("guest data for a host that closed entirely resets the connection") {
  VsockConnection c = established();
  c.on_host_eof(true);
  std::vector<uint8_t> data(4, 'a');
  CHECK(c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_RW, 0, 4), data) == GuestEvent::accepted);
  CHECK(c.state() == ConnState::closed);
  CHECK(c.rst_owed());
  CHECK(c.failed());
  CHECK(c.host_out().empty());
}

TEST_CASE("a host that closed entirely and a guest that is silent: the close timer sends RST") {
  VsockConnection c = established();
  c.on_host_eof(true);
  c.next_control();
  c.on_timeout();
  CHECK(c.state() == ConnState::closed);
  CHECK(c.rst_owed());
  CHECK_FALSE(c.failed());
}

TEST_CASE("closing: waits for the guest's RST, or sends one when the close timer fires") {
  VsockConnection a = closing();
  CHECK(a.on_guest_packet(pkt(VIRTIO_VSOCK_OP_RST), {}) == GuestEvent::peer_reset);
  CHECK_FALSE(a.rst_owed());
  VsockConnection b = closing();
  b.on_timeout();
  CHECK(b.state() == ConnState::closed);
  CHECK(b.rst_owed());
  CHECK_FALSE(b.failed());
}

TEST_CASE("closing: every op in that state") {
  {
    VsockConnection c = closing();
    CHECK(c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_CREDIT_UPDATE), {}) == GuestEvent::accepted);
    CHECK(c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_CREDIT_REQUEST), {}) == GuestEvent::accepted);
    CHECK_FALSE(c.has_control());  // nothing flows any more: no credit update
    CHECK(c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_SHUTDOWN_SEND), {}) ==
          GuestEvent::accepted);
    CHECK(c.state() == ConnState::closing);
    // The missing RCV flag completes a full shutdown: RST now.
    c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_SHUTDOWN_RCV), {});
    CHECK(c.state() == ConnState::closed);
    CHECK(c.rst_owed());
  }
  for (uint16_t op : {VIRTIO_VSOCK_OP_REQUEST, VIRTIO_VSOCK_OP_RESPONSE, VIRTIO_VSOCK_OP_RW}) {
    CAPTURE(op);
    VsockConnection c = closing();
    std::vector<uint8_t> data(op == VIRTIO_VSOCK_OP_RW ? 1 : 0, 'a');
    CHECK(c.on_guest_packet(pkt(op, 0, static_cast<uint32_t>(data.size())), data) ==
          GuestEvent::violation);
    CHECK(c.rst_owed());
  }
}

TEST_CASE("closed: further packets and events change nothing") {
  VsockConnection c = established();
  c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_RST), {});
  CHECK(c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_RW), {}) == GuestEvent::accepted);
  c.on_host_failed();
  c.on_timeout();
  c.on_host_eof(false);
  c.on_guest_violation(false);
  CHECK(c.state() == ConnState::closed);
  CHECK_FALSE(c.rst_owed());
  CHECK_FALSE(c.has_control());
}

TEST_CASE("a host failure closes with an RST; a violation reported by the parser too") {
  VsockConnection c = established();
  c.on_host_failed();
  CHECK(c.state() == ConnState::closed);
  CHECK(c.rst_owed());
  CHECK(c.failed());
  VsockConnection d = established();
  d.on_guest_violation(false);
  CHECK(d.rst_owed());
  VsockConnection e = established();
  e.on_guest_violation(true);  // a malformed RST: close, no answer
  CHECK(e.state() == ConnState::closed);
  CHECK_FALSE(e.rst_owed());
}

TEST_CASE("control packets come out in order REQUEST/RESPONSE, CREDIT_UPDATE, SHUTDOWN") {
  VsockConnection c = established();
  c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_CREDIT_REQUEST), {});
  c.on_host_eof(false);
  CHECK(c.next_control()->op == VIRTIO_VSOCK_OP_CREDIT_UPDATE);
  CHECK(c.next_control()->op == VIRTIO_VSOCK_OP_SHUTDOWN);
  CHECK_FALSE(c.next_control());
}

TEST_CASE("the host prefix is handed out before anything else and can be consumed in parts") {
  VsockConnection c = connecting();
  const uint8_t early[] = {'a', 'b', 'c'};
  c.set_host_prefix(early);
  CHECK(c.host_prefix().size() == 3);
  c.consume_host_prefix(2);
  REQUIRE(c.host_prefix().size() == 1);
  CHECK(c.host_prefix()[0] == 'c');
  c.consume_host_prefix(5);
  CHECK(c.host_prefix().empty());
}

TEST_CASE("the host-bound buffer keeps order across partial writes and appends") {
  VsockConnection c = established();
  std::string expect;
  std::string got;
  for (int i = 0; i < 50; ++i) {
    std::vector<uint8_t> d(17, static_cast<uint8_t>('a' + i % 26));
    expect.append(d.begin(), d.end());
    REQUIRE(c.on_guest_packet(pkt(VIRTIO_VSOCK_OP_RW, 0, 17), d) == GuestEvent::accepted);
    auto out = c.host_out();
    size_t n = std::min<size_t>(out.size(), 13);
    got.append(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n));
    c.on_host_written(n);
  }
  auto out = c.host_out();
  got.append(out.begin(), out.end());
  c.on_host_written(out.size());
  CHECK(got == expect);
  CHECK(c.fwd_cnt() == expect.size());
}

TEST_SUITE_END();

}  // namespace
}  // namespace minivmm::vsock
