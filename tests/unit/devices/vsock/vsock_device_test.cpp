// Unit tests of VsockDevice end to end: a real io_context, a MockSplitQueue-driven guest and
// real Unix sockets in a temporary directory. Covers features and config space, option
// validation and the socket file's lifetime, the host-initiated CONNECT handshake (REQUEST,
// RESPONSE, `OK <port>`, early bytes, refusals, timeouts), guest-initiated connections to
// `uds_path_<port>`, data both ways under credit flow control, shutdown and close sequences, the
// connection cap, and reset (host sockets closed, TRANSPORT_RESET at the next activation).
#include "devices/vsock/vsock_device.hpp"

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <poll.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <doctest/doctest.h>

#include "devices/virtio/ring_abi.hpp"
#include "vsock_test_support.hpp"

namespace minivmm::vsock {
namespace {

TEST_SUITE_BEGIN("vsock/device");

using test::guest_header;
using test::GuestDriver;
using test::host_connect;
using test::host_drain;
using test::host_send;
using test::kGuestCid;
using test::VsockFixture;

constexpr uint32_t kGuestPort = 1024;

/// A host program that ran the CONNECT handshake; the guest answered with RESPONSE.
struct HostConnection {
  UniqueFd fd;
  uint32_t local_port = 0;  ///< the device's port for this connection
};

HostConnection host_handshake(GuestDriver& g, const std::string& path, uint32_t port = kGuestPort,
                              uint32_t guest_buf = 256 * 1024) {
  HostConnection c{host_connect(path)};
  host_send(c.fd, "CONNECT " + std::to_string(port) + "\n");
  GuestDriver::Packet req = g.expect(VIRTIO_VSOCK_OP_REQUEST);
  c.local_port = req.h.src_port;
  g.send(guest_header(VIRTIO_VSOCK_OP_RESPONSE, port, c.local_port, 0, guest_buf));
  std::string got;
  const std::string want = "OK " + std::to_string(c.local_port) + "\n";
  REQUIRE(g.pump([&] { return host_drain(c.fd, got) && got.size() >= want.size(); }));
  REQUIRE(got == want);
  return c;
}

/// Reads from the host socket until `n` bytes arrived (or EOF/timeout).
std::string host_read(GuestDriver& g, const UniqueFd& fd, size_t n) {
  std::string got;
  g.pump([&] { return !host_drain(fd, got) || got.size() >= n; });
  return got;
}

/// True when the host socket reaches end of file (or an error) within the pump's timeout.
bool host_sees_eof(GuestDriver& g, const UniqueFd& fd) {
  std::string ignored;
  return g.pump([&] { return !host_drain(fd, ignored); }, std::chrono::seconds(3));
}

TEST_CASE("device type, features, queues and config space") {
  VsockFixture f;
  auto& d = *f.device;
  CHECK(d.device_type() == VIRTIO_ID_VSOCK);
  CHECK(d.features() == ((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX) |
                         (1ull << VIRTIO_RING_F_INDIRECT_DESC)));
  CHECK(d.queue_max_sizes().size() == 3);
  CHECK(d.queue_max_sizes()[0] == 256);
  CHECK(d.config_size() == 8);
  CHECK(d.guest_cid() == kGuestCid);
  CHECK(d.uds_path() == f.path());
  std::vector<uint8_t> cfg(12, 0xff);
  d.read_config(0, {cfg.data(), 8});
  d.read_config(8, {cfg.data() + 8, 4});
  CHECK(cfg == std::vector<uint8_t>{3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  std::vector<uint8_t> hi(2, 0xff);
  d.read_config(6, hi);
  CHECK(hi == std::vector<uint8_t>{0, 0});
  std::vector<uint8_t> junk(8, 0x55);
  d.write_config(0, junk);
  d.read_config(0, {cfg.data(), 1});
  CHECK(cfg[0] == 3);
}

TEST_CASE("create refuses reserved CIDs, bad paths and limits") {
  minivmm::test::TempDir dir;
  VsockOptions o;
  o.uds_path = (dir.path() / "s").string();
  for (uint64_t cid : {0ull, 1ull, 2ull, 0xFFFFFFFFull, 0x100000000ull}) {
    CAPTURE(cid);
    o.guest_cid = cid;
    auto r = VsockDevice::create(o);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code() == make_error_code(ErrorCode::invalid_config));
  }
  o.guest_cid = 3;
  o.uds_path = "";
  CHECK_FALSE(VsockDevice::create(o).has_value());
  o.uds_path = "/tmp/" + std::string(max_uds_path_length() - 4, 'x');  // one byte too long
  CHECK_FALSE(VsockDevice::create(o).has_value());
  o.uds_path = (dir.path() / "s").string();
  VsockOptions bad = o;
  bad.queue_size = 100;
  CHECK_FALSE(VsockDevice::create(bad).has_value());
  bad = o;
  bad.max_connections = 0;
  CHECK_FALSE(VsockDevice::create(bad).has_value());
  bad.max_connections = 65537;
  CHECK_FALSE(VsockDevice::create(bad).has_value());
  bad = o;
  bad.buffer_size = 100;
  CHECK_FALSE(VsockDevice::create(bad).has_value());
  bad = o;
  bad.handshake_timeout = std::chrono::milliseconds(0);
  CHECK_FALSE(VsockDevice::create(bad).has_value());
  CHECK(VsockDevice::create(o).has_value());
}

TEST_CASE("the socket exists after create, replaces a stale one and is unlinked on destruction") {
  minivmm::test::TempDir dir;
  VsockOptions o;
  o.guest_cid = 3;
  o.uds_path = (dir.path() / "v.sock").string();
  {
    auto d = VsockDevice::create(o);
    REQUIRE(d.has_value());
    struct stat st {};
    REQUIRE(::lstat(o.uds_path.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    // Dropping the device without unlinking leaves a stale file in real crashes; a second device
    // on the same path replaces it.
    auto again = VsockDevice::create(o);
    REQUIRE(again.has_value());
  }
  CHECK_FALSE(std::filesystem::exists(o.uds_path));
}

TEST_CASE("a path that exists and is not a socket is refused with a clear error") {
  minivmm::test::TempDir dir;
  VsockOptions o;
  o.guest_cid = 3;
  o.uds_path = (dir.path() / "file").string();
  std::ofstream(o.uds_path) << "keep me";
  auto r = VsockDevice::create(o);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == make_error_code(ErrorCode::invalid_config));
  CHECK(r.error().message().find("vsock uds " + o.uds_path + " exists and is not a socket") !=
        std::string::npos);
  CHECK(std::filesystem::exists(o.uds_path));
}

TEST_CASE("host CONNECT: the guest sees REQUEST, its RESPONSE makes the host read OK <port>") {
  VsockFixture f;
  GuestDriver g(f.device);
  g.post_rx();
  UniqueFd host = host_connect(f.path());
  host_send(host, "connect 1024\n");
  GuestDriver::Packet req = g.expect(VIRTIO_VSOCK_OP_REQUEST);
  CHECK(req.h.src_cid == kHostCid);
  CHECK(req.h.dst_cid == kGuestCid);
  CHECK(req.h.dst_port == kGuestPort);
  CHECK(req.h.src_port >= (1u << 30));
  CHECK(req.h.type == VIRTIO_VSOCK_TYPE_STREAM);
  CHECK(req.h.buf_alloc == 256 * 1024);
  CHECK(req.h.len == 0);
  CHECK(req.used_len == kHeaderSize);
  g.send(guest_header(VIRTIO_VSOCK_OP_RESPONSE, kGuestPort, req.h.src_port));
  const std::string ok = "OK " + std::to_string(req.h.src_port) + "\n";
  CHECK(host_read(g, host, ok.size()) == ok);
  CHECK(f.device->counters().connections_opened == 1);
  CHECK(f.device->counters().active_connections == 1);
}

TEST_CASE("data flows both ways and fwd_cnt reports what reached the host") {
  VsockFixture f;
  GuestDriver g(f.device);
  g.post_rx(16);
  HostConnection c = host_handshake(g, f.path());
  host_send(c.fd, "ping from host");
  GuestDriver::Packet rw = g.expect(VIRTIO_VSOCK_OP_RW);
  CHECK(rw.payload == "ping from host");
  CHECK(rw.h.len == rw.payload.size());
  CHECK(rw.h.dst_port == kGuestPort);
  CHECK(rw.h.src_port == c.local_port);
  g.send(guest_header(VIRTIO_VSOCK_OP_RW, kGuestPort, c.local_port, 9), "pong back", true);
  CHECK(host_read(g, c.fd, 9) == "pong back");
  host_send(c.fd, "x");
  GuestDriver::Packet next = g.expect(VIRTIO_VSOCK_OP_RW);
  CHECK(next.h.fwd_cnt == 9);
  auto counters = f.device->counters();
  CHECK(counters.tx_bytes == 9);
  CHECK(counters.rx_bytes == 15);
  CHECK(counters.rx_packets >= 3);
}

TEST_CASE("bytes the host sent right after the CONNECT line reach the guest first") {
  VsockFixture f;
  GuestDriver g(f.device);
  g.post_rx();
  UniqueFd host = host_connect(f.path());
  host_send(host, "CONNECT 1024\nearly bytes");
  GuestDriver::Packet req = g.expect(VIRTIO_VSOCK_OP_REQUEST);
  CHECK(g.quiet());  // no data before the guest accepted
  g.send(guest_header(VIRTIO_VSOCK_OP_RESPONSE, kGuestPort, req.h.src_port));
  GuestDriver::Packet rw = g.expect(VIRTIO_VSOCK_OP_RW);
  CHECK(rw.payload == "early bytes");
  host_send(host, " and later");
  CHECK(g.expect(VIRTIO_VSOCK_OP_RW).payload == " and later");
}

TEST_CASE("a host program that connected before activation is served at activation") {
  VsockFixture f;
  UniqueFd host = host_connect(f.path());  // waits in the listener's backlog
  host_send(host, "CONNECT 77\n");
  GuestDriver g(f.device);
  g.post_rx();
  GuestDriver::Packet req = g.expect(VIRTIO_VSOCK_OP_REQUEST);
  CHECK(req.h.dst_port == 77);
}

TEST_CASE("the guest's RST to our REQUEST closes the host socket") {
  VsockFixture f;
  GuestDriver g(f.device);
  g.post_rx();
  UniqueFd host = host_connect(f.path());
  host_send(host, "CONNECT 5\n");
  GuestDriver::Packet req = g.expect(VIRTIO_VSOCK_OP_REQUEST);
  g.send(guest_header(VIRTIO_VSOCK_OP_RST, 5, req.h.src_port));
  CHECK(host_sees_eof(g, host));
  CHECK(f.device->counters().active_connections == 0);
  CHECK(g.quiet());  // no RST answered to an RST
}

TEST_CASE("a guest that never answers the REQUEST is reset after handshake_timeout") {
  VsockOptions o;
  o.handshake_timeout = std::chrono::milliseconds(100);
  VsockFixture f(o);
  GuestDriver g(f.device);
  g.post_rx();
  UniqueFd host = host_connect(f.path());
  host_send(host, "CONNECT 5\n");
  GuestDriver::Packet req = g.expect(VIRTIO_VSOCK_OP_REQUEST);
  GuestDriver::Packet rst = g.expect(VIRTIO_VSOCK_OP_RST);
  CHECK(rst.h.src_port == req.h.src_port);
  CHECK(host_sees_eof(g, host));
}

TEST_CASE("malformed, overlong or missing CONNECT lines close the host socket") {
  VsockOptions o;
  o.handshake_timeout = std::chrono::milliseconds(100);
  VsockFixture f(o);
  GuestDriver g(f.device);
  g.post_rx();
  UniqueFd garbage = host_connect(f.path());
  host_send(garbage, "HELLO 5\n");
  UniqueFd overlong = host_connect(f.path());
  host_send(overlong, "CONNECT " + std::string(100, '1'));
  UniqueFd silent = host_connect(f.path());
  UniqueFd partial = host_connect(f.path());
  host_send(partial, "CONNECT 5");
  for (const UniqueFd* fd : {&garbage, &overlong, &silent, &partial}) CHECK(host_sees_eof(g, *fd));
  CHECK(g.quiet());
  CHECK(f.device->counters().active_connections == 0);
}

TEST_CASE("a guest REQUEST to a listening uds_path_<port> connects and relays") {
  VsockFixture f;
  auto listener = UnixListener::bind(port_path(f.path(), 5000), 4);
  REQUIRE(listener.has_value());
  GuestDriver g(f.device);
  g.post_rx();
  g.send(guest_header(VIRTIO_VSOCK_OP_REQUEST, 3333, 5000));
  GuestDriver::Packet resp = g.expect(VIRTIO_VSOCK_OP_RESPONSE);
  CHECK(resp.h.src_port == 5000);
  CHECK(resp.h.dst_port == 3333);
  CHECK(resp.h.buf_alloc == 256 * 1024);
  UniqueFd peer(::accept4(listener->fd(), nullptr, nullptr, SOCK_CLOEXEC));
  REQUIRE(peer);
  g.send(guest_header(VIRTIO_VSOCK_OP_RW, 3333, 5000, 5), "hello");
  CHECK(host_read(g, peer, 5) == "hello");
  host_send(peer, "back");
  CHECK(g.expect(VIRTIO_VSOCK_OP_RW).payload == "back");
  CHECK(f.device->counters().connections_opened == 1);
}

TEST_CASE("a guest REQUEST to a port nobody listens on gets RST") {
  VsockFixture f;
  GuestDriver g(f.device);
  g.post_rx();
  g.send(guest_header(VIRTIO_VSOCK_OP_REQUEST, 3333, 6000));
  GuestDriver::Packet rst = g.expect(VIRTIO_VSOCK_OP_RST);
  CHECK(rst.h.src_port == 6000);
  CHECK(rst.h.dst_port == 3333);
  CHECK(rst.h.src_cid == kHostCid);
  CHECK(rst.h.dst_cid == kGuestCid);
  CHECK(f.device->counters().connections_reset == 1);
  CHECK(f.device->counters().active_connections == 0);
}

TEST_CASE("host data is never sent beyond the guest's credit; CREDIT_UPDATE resumes it") {
  VsockFixture f;
  GuestDriver g(f.device);
  g.post_rx(32);
  HostConnection c = host_handshake(g, f.path(), kGuestPort, 100);
  host_send(c.fd, std::string(1000, 'z'));
  std::string got;
  while (auto p = g.recv(std::chrono::milliseconds(100))) {
    CHECK(p->h.op == VIRTIO_VSOCK_OP_RW);
    got += p->payload;
  }
  CHECK(got.size() == 100);
  g.send(guest_header(VIRTIO_VSOCK_OP_CREDIT_UPDATE, kGuestPort, c.local_port, 0, 100, 100));
  while (auto p = g.recv(std::chrono::milliseconds(100))) got += p->payload;
  CHECK(got.size() == 200);
  // A larger buffer lets the rest through.
  g.send(guest_header(VIRTIO_VSOCK_OP_CREDIT_UPDATE, kGuestPort, c.local_port, 0, 10000, 200));
  while (got.size() < 1000) {
    auto p = g.recv();
    REQUIRE(p);
    got += p->payload;
  }
  CHECK(got == std::string(1000, 'z'));
}

TEST_CASE("host data waits for RX buffers and is sent when the guest posts them") {
  VsockFixture f;
  GuestDriver g(f.device);
  g.post_rx(2);
  HostConnection c = host_handshake(g, f.path());
  // One 4 KiB buffer is left after the REQUEST: 10 KiB do not fit.
  host_send(c.fd, std::string(10240, 'q'));
  std::string got;
  while (auto p = g.recv(std::chrono::milliseconds(100))) got += p->payload;
  CHECK(got.size() < 10240);
  g.post_rx(16, 1024);
  while (got.size() < 10240) {
    auto p = g.recv();
    REQUIRE(p);
    CHECK(p->payload.size() <= 1024 - kHeaderSize);
    got += p->payload;
  }
  CHECK(got == std::string(10240, 'q'));
}

TEST_CASE("CREDIT_REQUEST is answered with CREDIT_UPDATE") {
  VsockFixture f;
  GuestDriver g(f.device);
  g.post_rx();
  HostConnection c = host_handshake(g, f.path());
  g.send(guest_header(VIRTIO_VSOCK_OP_CREDIT_REQUEST, kGuestPort, c.local_port));
  GuestDriver::Packet u = g.expect(VIRTIO_VSOCK_OP_CREDIT_UPDATE);
  CHECK(u.h.buf_alloc == 256 * 1024);
  CHECK(u.h.fwd_cnt == 0);
}

TEST_CASE("a CREDIT_UPDATE is sent once the host consumed half of buf_alloc") {
  VsockOptions o;
  o.buffer_size = 8192;
  VsockFixture f(o);
  GuestDriver g(f.device);
  g.post_rx();
  HostConnection c = host_handshake(g, f.path());
  g.send(guest_header(VIRTIO_VSOCK_OP_RW, kGuestPort, c.local_port, 4096), std::string(4096, 'a'));
  CHECK(host_read(g, c.fd, 4096).size() == 4096);
  GuestDriver::Packet u = g.expect(VIRTIO_VSOCK_OP_CREDIT_UPDATE);
  CHECK(u.h.fwd_cnt == 4096);
  CHECK(u.h.buf_alloc == 8192);
}

VsockHeader shutdown_header(uint32_t local_port, uint32_t flags) {
  VsockHeader h = guest_header(VIRTIO_VSOCK_OP_SHUTDOWN, kGuestPort, local_port);
  h.flags = flags;
  return h;
}

TEST_CASE("host EOF sends SHUTDOWN; the guest's full SHUTDOWN is answered with RST") {
  VsockFixture f;
  GuestDriver g(f.device);
  g.post_rx();
  HostConnection c = host_handshake(g, f.path());
  ::shutdown(c.fd.get(), SHUT_WR);
  GuestDriver::Packet s = g.expect(VIRTIO_VSOCK_OP_SHUTDOWN);
  CHECK(s.h.flags == VIRTIO_VSOCK_SHUTDOWN_SEND);
  // Half-close: the guest can still send to the host.
  g.send(guest_header(VIRTIO_VSOCK_OP_RW, kGuestPort, c.local_port, 3), "bye");
  CHECK(host_read(g, c.fd, 3) == "bye");
  g.send(shutdown_header(c.local_port, VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND));
  g.expect(VIRTIO_VSOCK_OP_RST);
  CHECK(host_sees_eof(g, c.fd));
  CHECK(f.device->counters().active_connections == 0);
  CHECK(f.device->counters().connections_reset == 0);  // an orderly close
}

TEST_CASE("guest SHUTDOWN(SEND) shuts the host's read side after the buffered data") {
  VsockFixture f;
  GuestDriver g(f.device);
  g.post_rx();
  HostConnection c = host_handshake(g, f.path());
  g.send(guest_header(VIRTIO_VSOCK_OP_RW, kGuestPort, c.local_port, 4), "last");
  g.send(shutdown_header(c.local_port, VIRTIO_VSOCK_SHUTDOWN_SEND));
  std::string got;
  CHECK(g.pump([&] { return !host_drain(c.fd, got); }));  // EOF after the data
  CHECK(got == "last");
  // The host can still answer.
  host_send(c.fd, "reply");
  CHECK(g.expect(VIRTIO_VSOCK_OP_RW).payload == "reply");
}

TEST_CASE("after both directions shut, the device sends RST when the guest does not") {
  VsockOptions o;
  o.close_timeout = std::chrono::milliseconds(100);
  VsockFixture f(o);
  GuestDriver g(f.device);
  g.post_rx();
  HostConnection c = host_handshake(g, f.path());
  g.send(shutdown_header(c.local_port, VIRTIO_VSOCK_SHUTDOWN_SEND));
  ::shutdown(c.fd.get(), SHUT_WR);
  g.expect(VIRTIO_VSOCK_OP_SHUTDOWN);
  GuestDriver::Packet rst = g.expect(VIRTIO_VSOCK_OP_RST);
  CHECK(rst.h.src_port == c.local_port);
  CHECK(host_sees_eof(g, c.fd));
  CHECK(f.device->counters().active_connections == 0);
}

TEST_CASE("the guest's RST on an established connection closes the host socket") {
  VsockFixture f;
  GuestDriver g(f.device);
  g.post_rx();
  HostConnection c = host_handshake(g, f.path());
  g.send(guest_header(VIRTIO_VSOCK_OP_RST, kGuestPort, c.local_port));
  CHECK(host_sees_eof(g, c.fd));
  CHECK(g.quiet());
}

TEST_CASE("a host peer that closed mid-stream gets the guest an RST, without SIGPIPE") {
  VsockFixture f;
  GuestDriver g(f.device);
  g.post_rx();
  HostConnection c = host_handshake(g, f.path());
  host_send(c.fd, "partial");
  c.fd.reset();  // the host program dies
  CHECK(g.expect(VIRTIO_VSOCK_OP_RW).payload == "partial");
  GuestDriver::Packet s = g.expect(VIRTIO_VSOCK_OP_SHUTDOWN);
  CHECK(s.h.flags == (VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND));
  // The guest keeps writing into the dead socket: EPIPE, never SIGPIPE.
  g.send(guest_header(VIRTIO_VSOCK_OP_RW, kGuestPort, c.local_port, 4), "data");
  GuestDriver::Packet rst = g.expect(VIRTIO_VSOCK_OP_RST);
  CHECK(rst.h.dst_port == kGuestPort);
  CHECK(f.device->counters().connections_reset == 1);
  CHECK(f.device->counters().active_connections == 0);
}

TEST_CASE("a host program that closes its socket: SHUTDOWN(RCV|SEND), then the guest's RST") {
  VsockFixture f;
  GuestDriver g(f.device);
  g.post_rx();
  HostConnection c = host_handshake(g, f.path());
  c.fd.reset();
  GuestDriver::Packet s = g.expect(VIRTIO_VSOCK_OP_SHUTDOWN);
  CHECK(s.h.flags == (VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND));
  CHECK(f.device->counters().active_connections == 1);  // waiting for the guest's RST
  g.send(guest_header(VIRTIO_VSOCK_OP_RST, kGuestPort, c.local_port));
  CHECK(g.pump([&] { return f.device->counters().active_connections == 0; }));
  CHECK(g.quiet());
  CHECK(f.device->counters().connections_reset == 0);
}

TEST_CASE("a guest-initiated connection whose host program dies with data in flight is reset") {
  VsockFixture f;
  auto listener = UnixListener::bind(port_path(f.path(), 7000), 4);
  REQUIRE(listener.has_value());
  GuestDriver g(f.device);
  g.post_rx();
  g.send(guest_header(VIRTIO_VSOCK_OP_REQUEST, 44, 7000));
  g.expect(VIRTIO_VSOCK_OP_RESPONSE);
  {
    UniqueFd peer(::accept4(listener->fd(), nullptr, nullptr, SOCK_CLOEXEC));
    REQUIRE(peer);
    g.send(guest_header(VIRTIO_VSOCK_OP_RW, 44, 7000, 4), "lost");
    g.run_for(20);
  }  // closed with unread data: the next read or write on our side fails
  g.send(guest_header(VIRTIO_VSOCK_OP_RW, 44, 7000, 4), "more");
  bool reset = false;
  while (auto p = g.recv(std::chrono::milliseconds(500))) reset |= p->h.op == VIRTIO_VSOCK_OP_RST;
  CHECK(reset);
  CHECK(f.device->counters().active_connections == 0);
}

TEST_CASE("connections beyond max_connections are refused: RST to the guest, EOF to the host") {
  VsockOptions o;
  o.max_connections = 2;
  VsockFixture f(o);
  auto listener = UnixListener::bind(port_path(f.path(), 8000), 16);
  REQUIRE(listener.has_value());
  GuestDriver g(f.device);
  g.post_rx(16);
  g.send(guest_header(VIRTIO_VSOCK_OP_REQUEST, 1, 8000));
  g.send(guest_header(VIRTIO_VSOCK_OP_REQUEST, 2, 8000));
  g.expect(VIRTIO_VSOCK_OP_RESPONSE);
  g.expect(VIRTIO_VSOCK_OP_RESPONSE);
  g.send(guest_header(VIRTIO_VSOCK_OP_REQUEST, 3, 8000));
  GuestDriver::Packet rst = g.expect(VIRTIO_VSOCK_OP_RST);
  CHECK(rst.h.dst_port == 3);
  UniqueFd host = host_connect(f.path());
  host_send(host, "CONNECT 1\n");
  CHECK(host_sees_eof(g, host));
  CHECK(f.device->counters().active_connections == 2);
  CHECK(f.device->counters().connections_reset == 2);
  // Closing one makes room again.
  g.send(guest_header(VIRTIO_VSOCK_OP_RST, 1, 8000));
  g.send(guest_header(VIRTIO_VSOCK_OP_REQUEST, 4, 8000));
  CHECK(g.expect(VIRTIO_VSOCK_OP_RESPONSE).h.dst_port == 4);
}

TEST_CASE("host-side local ports are unique per connection") {
  VsockFixture f;
  GuestDriver g(f.device);
  g.post_rx(16);
  std::vector<UniqueFd> hosts;
  std::set<uint32_t> ports;
  for (int i = 0; i < 5; ++i) {
    hosts.push_back(host_connect(f.path()));
    host_send(hosts.back(), "CONNECT 9\n");
    GuestDriver::Packet req = g.expect(VIRTIO_VSOCK_OP_REQUEST);
    ports.insert(req.h.src_port);
  }
  CHECK(ports.size() == 5);
}

TEST_CASE("reset closes every host socket and sends TRANSPORT_RESET at the next activation") {
  VsockFixture f;
  auto listener = UnixListener::bind(port_path(f.path(), 9000), 4);
  REQUIRE(listener.has_value());
  auto g = std::make_unique<GuestDriver>(f.device);
  g->post_rx();
  HostConnection c = host_handshake(*g, f.path());
  g->send(guest_header(VIRTIO_VSOCK_OP_REQUEST, 55, 9000));
  g->expect(VIRTIO_VSOCK_OP_RESPONSE);
  UniqueFd peer(::accept4(listener->fd(), nullptr, nullptr, SOCK_CLOEXEC));
  REQUIRE(peer);
  f.device->reset();
  std::string ignored;
  CHECK_FALSE(host_drain(c.fd, ignored));  // EOF right away, without running the loop
  CHECK_FALSE(host_drain(peer, ignored));
  CHECK(f.device->transport_reset_pending());
  CHECK(f.device->counters().active_connections == 0);
  // Nothing touches the old rings after reset.
  uint16_t used = g->rxq->used_idx();
  g->post_rx();
  g->send(guest_header(VIRTIO_VSOCK_OP_REQUEST, 56, 9000));
  g->run_for(30);
  CHECK(g->rxq->used_idx() == used);
  CHECK(g->txq->used_idx() == 2);

  g->reactivate();
  g->post_event();
  auto ev = g->recv_event();
  REQUIRE(ev);
  CHECK(ev->first == VIRTIO_VSOCK_EVENT_TRANSPORT_RESET);
  CHECK(ev->second == 4);
  CHECK_FALSE(f.device->transport_reset_pending());
  // The device works again after the reset.
  g->post_rx();
  HostConnection again = host_handshake(*g, f.path());
  CHECK(again.local_port >= (1u << 30));
}

TEST_CASE("TRANSPORT_RESET waits for an event buffer and is sent only once") {
  VsockFixture f;
  GuestDriver g(f.device);
  g.post_rx();
  HostConnection c = host_handshake(g, f.path());
  f.device->reset();
  g.reactivate();
  CHECK_FALSE(g.recv_event(50));
  CHECK(f.device->transport_reset_pending());
  g.post_event(2);  // too small: returned with length 0, still pending
  auto small = g.recv_event();
  REQUIRE(small);
  CHECK(small->second == 0);
  g.post_event();
  g.post_event();
  auto ev = g.recv_event();
  REQUIRE(ev);
  CHECK(ev->second == 4);
  CHECK_FALSE(g.recv_event(50));
}

TEST_CASE("a reset without connections sends no TRANSPORT_RESET") {
  VsockFixture f;
  GuestDriver g(f.device);
  f.device->reset();
  CHECK_FALSE(f.device->transport_reset_pending());
  g.reactivate();
  g.post_event();
  CHECK_FALSE(g.recv_event(50));
}

TEST_CASE("counters survive reset and activation twice fails") {
  VsockFixture f;
  GuestDriver g(f.device);
  g.post_rx();
  g.send(guest_header(VIRTIO_VSOCK_OP_REQUEST, 1, 12345));
  g.expect(VIRTIO_VSOCK_OP_RST);
  virtio::Activation again{g.mem, {}, g.kicks, 0, g.interrupt, g.io};
  CHECK_FALSE(f.device->activate(std::move(again)).has_value());
  f.device->reset();
  CHECK(f.device->counters().tx_packets == 1);
  CHECK(f.device->counters().connections_reset == 1);
  g.reactivate();
  CHECK(f.device->counters().tx_packets == 1);
}

TEST_CASE("notify() signals the queue's eventfd") {
  VsockFixture f;
  GuestDriver g(f.device);
  g.post_rx();
  VsockHeader h = guest_header(VIRTIO_VSOCK_OP_REQUEST, 1, 12345);
  std::vector<uint8_t> bytes = test::packet_bytes(h);
  uint64_t a = g.alloc(64);
  REQUIRE(g.mem.write(a, bytes));
  g.txq->publish(g.txq->add_chain({{a, kHeaderSize, false}}));
  f.device->notify(kTxQueue);
  g.expect(VIRTIO_VSOCK_OP_RST);
  f.device->notify(7);  // out of range: ignored
}

TEST_SUITE_END();

}  // namespace
}  // namespace minivmm::vsock
