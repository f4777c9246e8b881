// The virtio-vsock cases of HOSTILE-GUEST.md, each against a running VsockDevice with real
// sockets: oversized and truncated payloads, unknown ops and types, forged CIDs, requests to
// missing listeners, duplicate and unsolicited packets, data beyond credit, connection floods,
// malformed TX/RX chains and an RST backlog from a guest that posts no RX buffers. Each case
// checks the guest-visible answer, the counters, and that host state stays bounded and sane.
#include <dirent.h>

#include <string>

#include <doctest/doctest.h>

#include "devices/vsock/vsock_device.hpp"
#include "vsock_test_support.hpp"

namespace minivmm::vsock {
namespace {

TEST_SUITE_BEGIN("vsock/hostile");

using test::guest_header;
using test::GuestDriver;
using test::host_connect;
using test::host_drain;
using test::host_send;
using test::VsockFixture;

size_t open_fds() {
  size_t n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  REQUIRE(d != nullptr);
  while (::readdir(d) != nullptr) ++n;
  ::closedir(d);
  return n;
}

/// A guest-initiated connection from guest port `gport` to a listening host port `hport`.
struct Connected {
  std::optional<UnixListener> listener;
  UniqueFd peer;
};

Connected connect_guest(GuestDriver& g, const std::string& path, uint32_t gport, uint32_t hport) {
  Connected c;
  auto l = UnixListener::bind(port_path(path, hport), 64);
  REQUIRE(l.has_value());
  c.listener.emplace(std::move(*l));
  g.send(guest_header(VIRTIO_VSOCK_OP_REQUEST, gport, hport));
  g.expect(VIRTIO_VSOCK_OP_RESPONSE);
  c.peer = UniqueFd(::accept4(c.listener->fd(), nullptr, nullptr, SOCK_CLOEXEC));
  REQUIRE(c.peer);
  return c;
}

bool peer_closed(GuestDriver& g, const UniqueFd& fd) {
  std::string ignored;
  return g.pump([&] { return !host_drain(fd, ignored); }, std::chrono::seconds(3));
}

TEST_CASE("a payload length above 64 KiB resets the connection; nothing reaches the host") {
  VsockFixture f;
  GuestDriver g(f.device);
  g.post_rx();
  Connected c = connect_guest(g, f.path(), 10, 2000);
  VsockHeader h = guest_header(VIRTIO_VSOCK_OP_RW, 10, 2000, kMaxPayload + 1);
  g.send(h, std::string(kMaxPayload + 1, 'x'));
  g.expect(VIRTIO_VSOCK_OP_RST);
  std::string got;
  CHECK(g.pump([&] { return !host_drain(c.peer, got); }));
  CHECK(got.empty());
  CHECK(f.device->counters().dropped_packets == 1);
  CHECK(f.device->counters().active_connections == 0);
}

TEST_CASE("a payload length above the descriptors is refused with RST") {
  VsockFixture f;
  GuestDriver g(f.device);
  g.post_rx();
  g.send(guest_header(VIRTIO_VSOCK_OP_RW, 10, 2000, 100), "only ten b");
  g.send(guest_header(VIRTIO_VSOCK_OP_RW, 10, 2000, 0xFFFFFFFF));
  g.expect(VIRTIO_VSOCK_OP_RST);
  g.expect(VIRTIO_VSOCK_OP_RST);
  CHECK(f.device->counters().dropped_packets == 2);
  CHECK(f.device->counters().tx_packets == 0);
}

TEST_CASE("unknown ops and types are answered with RST") {
  VsockFixture f;
  GuestDriver g(f.device);
  g.post_rx();
  VsockHeader bad_op = guest_header(0, 10, 2000);
  VsockHeader big_op = guest_header(99, 10, 2000);
  VsockHeader seqpacket = guest_header(VIRTIO_VSOCK_OP_REQUEST, 10, 2000);
  seqpacket.type = VIRTIO_VSOCK_TYPE_SEQPACKET;
  for (const VsockHeader& h : {bad_op, big_op, seqpacket}) {
    g.send(h);
    GuestDriver::Packet rst = g.expect(VIRTIO_VSOCK_OP_RST);
    CHECK(rst.h.type == VIRTIO_VSOCK_TYPE_STREAM);
    CHECK(rst.h.dst_port == 10);
  }
  CHECK(f.device->counters().connections_reset == 3);
}

TEST_CASE("a malformed RST closes its connection without an answer") {
  VsockFixture f;
  GuestDriver g(f.device);
  g.post_rx();
  Connected c = connect_guest(g, f.path(), 10, 2000);
  VsockHeader rst = guest_header(VIRTIO_VSOCK_OP_RST, 10, 2000, 500);  // len beyond the chain
  g.send(rst);
  CHECK(peer_closed(g, c.peer));
  CHECK(g.quiet());
}

TEST_CASE("forged source CIDs are dropped silently and never reach a host socket") {
  VsockFixture f;
  auto listener = UnixListener::bind(port_path(f.path(), 2000), 4);
  REQUIRE(listener.has_value());
  GuestDriver g(f.device);
  g.post_rx();
  for (uint64_t cid : {0ull, 1ull, 2ull, 4ull, 0xFFFFFFFFull, 0x100000003ull}) {
    VsockHeader h = guest_header(VIRTIO_VSOCK_OP_REQUEST, 10, 2000);
    h.src_cid = cid;
    g.send(h);
  }
  CHECK(g.quiet(100));
  CHECK(::accept4(listener->fd(), nullptr, nullptr, SOCK_NONBLOCK) < 0);
  CHECK(f.device->counters().dropped_packets == 6);
  CHECK(f.device->counters().active_connections == 0);
}

TEST_CASE("destination CIDs other than the host are dropped silently") {
  VsockFixture f;
  GuestDriver g(f.device);
  g.post_rx();
  for (uint64_t cid : {0ull, 1ull, 3ull, 5ull, 0xFFFFFFFFull}) {
    VsockHeader h = guest_header(VIRTIO_VSOCK_OP_REQUEST, 10, 2000);
    h.dst_cid = cid;
    g.send(h);
  }
  CHECK(g.quiet(100));
  CHECK(f.device->counters().dropped_packets == 5);
}

TEST_CASE("a duplicate REQUEST resets the connection; the table stays consistent") {
  VsockFixture f;
  GuestDriver g(f.device);
  g.post_rx(16);
  Connected c = connect_guest(g, f.path(), 10, 2000);
  g.send(guest_header(VIRTIO_VSOCK_OP_REQUEST, 10, 2000));
  g.expect(VIRTIO_VSOCK_OP_RST);
  CHECK(peer_closed(g, c.peer));
  CHECK(f.device->counters().active_connections == 0);
  // A fresh REQUEST on the same address works again.
  g.send(guest_header(VIRTIO_VSOCK_OP_REQUEST, 10, 2000));
  g.expect(VIRTIO_VSOCK_OP_RESPONSE);
  CHECK(f.device->counters().active_connections == 1);
}

TEST_CASE("packets on unknown connections are answered with RST; RST is not") {
  VsockFixture f;
  GuestDriver g(f.device);
  g.post_rx(16);
  for (uint16_t op : {VIRTIO_VSOCK_OP_RESPONSE, VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_OP_RW,
                      VIRTIO_VSOCK_OP_CREDIT_UPDATE, VIRTIO_VSOCK_OP_CREDIT_REQUEST}) {
    CAPTURE(op);
    g.send(guest_header(op, 10, 2000));
    GuestDriver::Packet rst = g.expect(VIRTIO_VSOCK_OP_RST);
    CHECK(rst.h.src_port == 2000);
    CHECK(rst.h.dst_port == 10);
  }
  g.send(guest_header(VIRTIO_VSOCK_OP_RST, 10, 2000));
  CHECK(g.quiet());
  CHECK(f.device->counters().active_connections == 0);
}

TEST_CASE("an unsolicited RESPONSE on an established connection resets it") {
  VsockFixture f;
  GuestDriver g(f.device);
  g.post_rx();
  Connected c = connect_guest(g, f.path(), 10, 2000);
  g.send(guest_header(VIRTIO_VSOCK_OP_RESPONSE, 10, 2000));
  g.expect(VIRTIO_VSOCK_OP_RST);
  CHECK(peer_closed(g, c.peer));
}

TEST_CASE("data on a host-initiated connection before RESPONSE resets it") {
  VsockFixture f;
  GuestDriver g(f.device);
  g.post_rx();
  UniqueFd host = host_connect(f.path());
  host_send(host, "CONNECT 5\n");
  GuestDriver::Packet req = g.expect(VIRTIO_VSOCK_OP_REQUEST);
  g.send(guest_header(VIRTIO_VSOCK_OP_RW, 5, req.h.src_port, 3), "abc");
  g.expect(VIRTIO_VSOCK_OP_RST);
  std::string got;
  CHECK(g.pump([&] { return !host_drain(host, got); }));
  CHECK(got.empty());  // no OK line, no data
}

TEST_CASE("data beyond the credit we gave is a violation; host memory stays bounded") {
  VsockOptions o;
  o.buffer_size = 4096;
  VsockFixture f(o);
  GuestDriver g(f.device);
  g.post_rx();
  Connected c = connect_guest(g, f.path(), 10, 2000);
  g.send(guest_header(VIRTIO_VSOCK_OP_RW, 10, 2000, 5000), std::string(5000, 'x'));
  g.expect(VIRTIO_VSOCK_OP_RST);
  CHECK(peer_closed(g, c.peer));
  CHECK(f.device->counters().active_connections == 0);
}

TEST_CASE("a guest that ignores credit while the host does not read is reset, not buffered") {
  VsockFixture f;  // 256 KiB buffer per connection
  GuestDriver g(f.device);
  g.post_rx();
  Connected c = connect_guest(g, f.path(), 10, 2000);
  // The host never reads: the kernel takes a few hundred KiB, our buffer 256 KiB, then RST.
  bool reset = false;
  for (int i = 0; i < 64 && !reset; ++i) {
    g.send(guest_header(VIRTIO_VSOCK_OP_RW, 10, 2000, kMaxPayload), std::string(kMaxPayload, 'y'));
    if (auto p = g.recv(std::chrono::milliseconds(20))) reset = p->h.op == VIRTIO_VSOCK_OP_RST;
  }
  CHECK(reset);
  CHECK(f.device->counters().active_connections == 0);
}

TEST_CASE("a connection flood is capped: RSTs, bounded descriptors") {
  VsockOptions o;
  o.max_connections = 16;
  VsockFixture f(o);
  auto listener = UnixListener::bind(port_path(f.path(), 2000), 1024);
  REQUIRE(listener.has_value());
  GuestDriver g(f.device);
  const size_t fds_before = open_fds();
  uint32_t responses = 0, resets = 0;
  for (uint32_t port = 1; port <= 600; ++port) {
    if (port % 100 == 1) g.post_rx(100);
    g.send(guest_header(VIRTIO_VSOCK_OP_REQUEST, port, 2000));
    if (port % 100 == 0) {
      while (auto p = g.recv(std::chrono::milliseconds(50))) {
        responses += p->h.op == VIRTIO_VSOCK_OP_RESPONSE;
        resets += p->h.op == VIRTIO_VSOCK_OP_RST;
      }
    }
  }
  CHECK(responses == 16);
  CHECK(resets == 600 - 16);
  CHECK(f.device->counters().active_connections == 16);
  CHECK(open_fds() <= fds_before + 16);
}

TEST_CASE("a host connection flood is capped too") {
  VsockOptions o;
  o.max_connections = 4;
  VsockFixture f(o);
  GuestDriver g(f.device);
  g.post_rx(64);
  std::vector<UniqueFd> hosts;
  for (int i = 0; i < 20; ++i) {
    // The listener's backlog is bounded: connect without blocking and let the device accept.
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, f.path().data(), f.path().size());
    REQUIRE(g.pump(
        [&] { return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0; }));
    ::send(fd.get(), "CONNECT 9\n", 10, MSG_NOSIGNAL);
    hosts.push_back(std::move(fd));
  }
  int requests = 0;
  while (auto p = g.recv(std::chrono::milliseconds(100)))
    requests += p->h.op == VIRTIO_VSOCK_OP_REQUEST;
  CHECK(requests == 4);
  CHECK(f.device->counters().active_connections == 4);
  CHECK(f.device->counters().connections_reset == 16);
}

TEST_CASE("TX chains too short for a header are returned with length 0 and counted") {
  VsockFixture f;
  GuestDriver g(f.device);
  uint64_t a = g.alloc(64);
  g.send_raw({{a, 20, false}});
  g.send_raw({{a, 64, true}});  // writable only: nothing to read
  CHECK(g.pump([&] { return g.txq->used_idx() == 2; }));
  CHECK(g.txq->used_elem(0).len == 0);
  CHECK(g.txq->used_elem(1).len == 0);
  CHECK(f.device->counters().malformed_chains == 2);
}

TEST_CASE("TX chains the queue refuses are returned with length 0 and counted") {
  VsockFixture f;
  GuestDriver g(f.device);
  g.send_raw({{~0ull - 8, 64, false}});  // outside RAM, addr + len overflows
  CHECK(g.pump([&] { return g.txq->used_idx() == 1; }));
  CHECK(g.txq->used_elem(0).len == 0);
  CHECK(f.device->counters().malformed_chains == 1);
}

TEST_CASE("read-only or too small RX buffers are returned with length 0 and skipped") {
  VsockFixture f;
  GuestDriver g(f.device);
  uint64_t a = g.alloc(4096);
  g.rxq->publish(g.rxq->add_chain({{a, 4096, false}}));        // device-readable
  g.rxq->publish(g.rxq->add_chain({{a, kHeaderSize, true}}));  // no room for payload
  g.send(guest_header(VIRTIO_VSOCK_OP_REQUEST, 1, 12345));  // RST owed: the device needs a buffer
  CHECK(g.pump([&] { return g.rxq->used_idx() == 2; }));
  CHECK(g.rxq->used_elem(0).len == 0);
  CHECK(g.rxq->used_elem(1).len == 0);
  CHECK(f.device->counters().malformed_chains == 2);
  // The next real buffer carries the RST (recv() skips the two empty completions).
  g.post_rx(1);
  CHECK(g.pump([&] { return g.rxq->used_idx() == 3; }));
  CHECK(g.rxq->used_elem(2).len == kHeaderSize);
}

TEST_CASE("without RX buffers the RST backlog pauses TX, and resumes when buffers come") {
  VsockFixture f;
  GuestDriver g(f.device);
  for (uint32_t port = 1; port <= 256; ++port)
    g.send(guest_header(VIRTIO_VSOCK_OP_REQUEST, port, 1));
  CHECK(g.pump([&] { return g.txq->used_idx() == 256; }));
  for (uint32_t port = 257; port <= 300; ++port)
    g.send(guest_header(VIRTIO_VSOCK_OP_REQUEST, port, 1));
  g.run_for(50);
  CHECK(g.txq->used_idx() == 256);  // paused: 256 RSTs wait for RX buffers
  int resets = 0;
  g.post_rx(200);
  while (auto p = g.recv(std::chrono::milliseconds(50))) resets += p->h.op == VIRTIO_VSOCK_OP_RST;
  g.post_rx(150);
  CHECK(g.pump([&] { return g.txq->used_idx() == 300; }));
  while (auto p = g.recv(std::chrono::milliseconds(50))) resets += p->h.op == VIRTIO_VSOCK_OP_RST;
  CHECK(resets == 300);
}

TEST_CASE("a broken TX ring sets DEVICE_NEEDS_RESET") {
  VsockFixture f;
  GuestDriver g(f.device);
  g.txq->set_avail_idx(1000);
  g.kicks[1].signal();
  CHECK(g.pump([&] { return g.interrupt->needs_reset(); }));
}

TEST_CASE("thousands of kicks on empty rings do no work") {
  VsockFixture f;
  GuestDriver g(f.device);
  for (int i = 0; i < 1000; ++i)
    for (auto& k : g.kicks) k.signal();
  g.run_for(20);
  CHECK(g.rxq->used_idx() == 0);
  CHECK(g.txq->used_idx() == 0);
  CHECK(f.device->counters().tx_packets == 0);
}

TEST_SUITE_END();

}  // namespace
}  // namespace minivmm::vsock
