// libFuzzer target for the virtio-vsock packet layer and connection state machine. The input is a
// program of operations on one VsockConnection (re-created whenever it closes): TX chains built
// from input bytes go through parse_tx_packet() and, when accepted, into the connection; host
// events (writes, EOF, failures, timeouts), control packets and data towards the guest, and RX
// chains written with write_rx_packet() are interleaved. Invariants checked after every step:
// the guest-to-host buffer never exceeds buf_alloc (plus the OK reply), accepted payloads match
// their header and 64 KiB, data to the guest never exceeds the guest's credit, a closed
// connection owes no control packet, and RX writes stay inside the chain's writable buffers.
//
// Input: u32 buf_alloc | then ops: u8 op, followed by op-specific bytes:
//   0 TX chain: u8 n, n x u16 descriptor lengths, then the chain's bytes (laid out back to back)
//   1 host wrote u16 bytes | 2 host EOF, u8 bit 0: the host closed entirely | 3 host failure
//   4 timer expiry | 5 take control packet
//   6 u16 bytes of host data to the guest | 7 RX chain: u8 n, n x u16 writable lengths
//   8 u8 bytes of handshake prefix, then consume u8 | 9 apply host shutdowns
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

#include "devices/vsock/vsock_connection.hpp"
#include "devices/vsock/vsock_packet.hpp"
#include "tests/fuzz/fuzz_memory.hpp"

using namespace minivmm;
using namespace minivmm::vsock;
using virtio::DescriptorChain;
using virtio::fuzz::InputReader;

namespace {

constexpr uint64_t kGuestCid = 3;
constexpr uint64_t kTxBase = 0x1000;  // TX bytes: [0x1000, 0x5000)
constexpr uint64_t kRxBase = 0x7000;  // RX buffers: [0x7000, 0xb000), across the region seam
constexpr uint64_t kRxEnd = 0xb000;
constexpr uint32_t kMaxReply = 16;  // "OK " + 10 digits + "\n"

void check(bool ok) {
  if (!ok) std::abort();
}

/// n descriptors of fuzzer-chosen lengths laid out back to back from `base`, within `limit`.
DescriptorChain make_chain(InputReader& in, uint64_t base, uint64_t limit, bool writable) {
  DescriptorChain c;
  const uint8_t n = static_cast<uint8_t>(in.take<uint8_t>() % 5);
  uint64_t at = base;
  for (uint8_t i = 0; i < n; ++i) {
    uint32_t len = in.take<uint16_t>() % 0x2000u;
    len = static_cast<uint32_t>(std::min<uint64_t>(len, limit - at));
    if (len == 0) continue;  // pop() drops zero-length descriptors
    c.descriptors.push_back({at, len, writable});
    (writable ? c.writable_len : c.readable_len) += len;
    at += len;
  }
  return c;
}

struct Model {
  const GuestMemory& mem;
  uint32_t buf_alloc;
  std::optional<VsockConnection> conn;
  bool next_host = true;
  std::vector<uint8_t> payload;
  std::vector<uint8_t> guest_data;

  void renew() {
    if (conn && conn->state() != ConnState::closed) return;
    if (next_host) {
      conn = VsockConnection::host_initiated(1u << 30, 1024, buf_alloc);
    } else {
      VsockHeader req;
      req.src_port = 1024;
      req.dst_port = 52;
      req.buf_alloc = 4096;
      conn = VsockConnection::guest_initiated(req, buf_alloc);
    }
    next_host = !next_host;
  }

  void tx(InputReader& in) {
    DescriptorChain c = make_chain(in, kTxBase, kTxBase + 0x4000, false);
    auto bytes = in.take_bytes(c.readable_len);
    mem.write(kTxBase, bytes);
    TxPacket p = parse_tx_packet(c, mem, kGuestCid, payload);
    check(payload.size() <= kMaxPayload);
    if (p.verdict == TxVerdict::ok) {
      check(p.header.src_cid == kGuestCid && p.header.dst_cid == kHostCid);
      check(p.header.len <= c.readable_len - kHeaderSize);
      if (p.header.op == VIRTIO_VSOCK_OP_RW) check(payload.size() == p.header.len);
      conn->on_guest_packet(p.header, payload);
    } else {
      check(payload.empty());
      if (p.verdict == TxVerdict::reset)
        conn->on_guest_violation(p.header.op == VIRTIO_VSOCK_OP_RST);
    }
  }

  void to_guest(InputReader& in) {
    const uint32_t want = in.take<uint16_t>();
    const uint32_t credit = conn->peer_credit();
    if (!conn->wants_host_read()) return;
    const uint32_t n = std::min(want, credit);
    conn->on_data_to_guest(n);
    VsockHeader h = conn->make_header(VIRTIO_VSOCK_OP_RW, 0, n);
    check(h.len <= credit && h.buf_alloc == buf_alloc);
  }

  void rx(InputReader& in) {
    DescriptorChain c = make_chain(in, kRxBase, kRxEnd, true);
    // A guard band around the chain's buffers must stay untouched.
    const uint64_t lo = kRxBase - 0x40;
    const uint64_t end = kRxBase + c.writable_len;
    std::vector<uint8_t> band(end + 0x40 - lo, 0xA5);
    mem.write(lo, band);
    guest_data.assign(std::min<uint64_t>(rx_payload_room(c), in.take<uint16_t>()), 0x5A);
    VsockHeader h =
        conn->make_header(VIRTIO_VSOCK_OP_RW, 0, static_cast<uint32_t>(guest_data.size()));
    const uint32_t used = write_rx_packet(c, mem, h, guest_data);
    check(used == 0 || used == kHeaderSize + guest_data.size());
    check(used <= c.writable_len);
    mem.read(lo, band);
    for (uint64_t i = 0; i < 0x40; ++i) check(band[i] == 0xA5 && band[band.size() - 1 - i] == 0xA5);
    // What was written is the header, then the payload.
    if (used >= kHeaderSize) {
      auto hdr = h.encode();
      check(std::equal(hdr.begin(), hdr.end(), band.begin() + 0x40));
      for (uint64_t i = kHeaderSize; i < used; ++i) check(band[0x40 + i] == 0x5A);
    }
  }

  void step(uint8_t op, InputReader& in) {
    switch (op % 10) {
      case 0:
        tx(in);
        break;
      case 1:
        conn->on_host_written(std::min<size_t>(in.take<uint16_t>(), conn->host_out().size()));
        break;
      case 2:
        conn->on_host_eof((in.take<uint8_t>() & 1) != 0);
        break;
      case 3:
        conn->on_host_failed();
        break;
      case 4:
        if (conn->timer() != ConnTimer::none) conn->on_timeout();
        break;
      case 5:
        if (auto ctl = conn->next_control()) conn->make_header(ctl->op, ctl->flags, 0);
        break;
      case 6:
        to_guest(in);
        break;
      case 7:
        rx(in);
        break;
      case 8: {
        auto prefix = in.take_bytes(in.take<uint8_t>() % 64);
        if (conn->host_prefix().empty()) conn->set_host_prefix(prefix);
        conn->consume_host_prefix(in.take<uint8_t>());
        break;
      }
      case 9:
        if (conn->host_write_shutdown_due()) conn->on_host_write_shutdown();
        if (conn->host_read_shutdown_due()) conn->on_host_read_shutdown();
        break;
    }
  }

  void invariants() const {
    const VsockConnection& c = *conn;
    check(c.buffered() <= buf_alloc);
    check(c.host_out().size() <= uint64_t{buf_alloc} + kMaxReply);
    check(c.host_prefix().size() <= 64);
    if (c.state() == ConnState::closed) check(!c.has_control() && !c.wants_host_read());
    if (c.wants_host_read()) check(c.state() == ConnState::established);
    if (c.rst_owed()) check(c.state() == ConnState::closed);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  InputReader in(data, size);
  const GuestMemory& mem = virtio::fuzz::fuzz_memory();
  Model m{mem, std::clamp<uint32_t>(in.take<uint32_t>(), 1, 1u << 20), {}, true, {}, {}};
  m.renew();
  for (int steps = 0; in.left() > 0 && steps < 512; ++steps) {
    m.step(in.take<uint8_t>(), in);
    m.invariants();
    m.renew();
  }
  return 0;
}
