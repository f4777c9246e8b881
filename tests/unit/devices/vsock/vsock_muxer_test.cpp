// Unit tests of VsockMuxer without guest memory: guest packets go in as headers, packets for the
// guest come out of next_rx_packet(). Covers the payload limit per RX buffer, RSTs going out
// before connection packets, the RST backlog signal, host-side port allocation (counting up from
// 2^30, skipping ports in use), stop(), and that host sockets are read only when asked.
#include "devices/vsock/vsock_muxer.hpp"

#include <fcntl.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <optional>
#include <set>
#include <string>

#include <doctest/doctest.h>

#include "devices/vsock/vsock_unix.hpp"
#include "vsock_test_support.hpp"

namespace minivmm::vsock {
namespace {

TEST_SUITE_BEGIN("vsock/muxer");

using test::guest_header;
using test::host_connect;
using test::host_drain;
using test::host_send;

struct MuxerFixture {
  MuxerFixture() : path((dir.path() / "m.sock").string()) {
    auto l = UnixListener::bind(path, 64);
    REQUIRE(l.has_value());
    listener.emplace(std::move(*l));
    MuxerConfig cfg{test::kGuestCid,        path, 8, 4096, std::chrono::seconds(2),
                    std::chrono::seconds(2)};
    muxer.emplace(
        io, cfg, UniqueFd(::fcntl(listener->fd(), F_DUPFD_CLOEXEC, 0)),
        [](const std::function<void()>& fn) { fn(); }, counters);
  }
  bool pump(const std::function<bool()>& pred, int ms = 3000) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (!pred()) {
      if (std::chrono::steady_clock::now() >= end) return false;
      io.restart();
      io.run_for(std::chrono::milliseconds(2));
    }
    return true;
  }
  /// The next packet for the guest, running the loop until one is ready.
  std::optional<RxPacket> next(uint32_t room = 4096, int ms = 3000) {
    std::optional<RxPacket> p;
    pump([&] { return (p = muxer->next_rx_packet(room)).has_value(); }, ms);
    return p;
  }
  /// A host program that completed CONNECT and was accepted by the guest.
  uint32_t host_connection(UniqueFd& host, uint32_t guest_port = 80, uint32_t guest_buf = 1 << 20) {
    muxer->start();
    host = host_connect(path);
    host_send(host, "CONNECT " + std::to_string(guest_port) + "\n");
    auto req = next();
    REQUIRE(req);
    REQUIRE(req->header.op == VIRTIO_VSOCK_OP_REQUEST);
    const uint32_t local = req->header.src_port;
    muxer->on_guest_packet(guest_header(VIRTIO_VSOCK_OP_RESPONSE, guest_port, local, 0, guest_buf),
                           {});
    std::string ok;
    REQUIRE(pump([&] { return host_drain(host, ok) && ok.find('\n') != std::string::npos; }));
    return local;
  }

  minivmm::test::TempDir dir;
  std::string path;
  boost::asio::io_context io;
  std::optional<UnixListener> listener;
  VsockCounters counters;
  std::optional<VsockMuxer> muxer;
};

TEST_CASE_FIXTURE(MuxerFixture, "host data is cut to the RX buffer's room") {
  UniqueFd host;
  host_connection(host);
  host_send(host, std::string(100, 'a'));
  auto p = next(30);
  REQUIRE(p);
  CHECK(p->header.op == VIRTIO_VSOCK_OP_RW);
  CHECK(p->payload.size() == 30);
  CHECK(p->header.len == 30);
  CHECK(p->header.src_cid == kHostCid);
  CHECK(p->header.dst_cid == test::kGuestCid);
  p = next(1000);
  REQUIRE(p);
  CHECK(p->payload.size() == 70);
}

TEST_CASE_FIXTURE(MuxerFixture, "nothing is read from a host socket until the guest asks") {
  UniqueFd host;
  host_connection(host);
  host_send(host, "queued");
  pump([] { return false; }, 30);
  CHECK(muxer->has_rx_work());
  int unread = 0;
  REQUIRE(::ioctl(host.get(), SIOCOUTQ, &unread) == 0);
  CHECK(unread > 0);  // still in the socket: only next_rx_packet() reads
  auto p = next();
  REQUIRE(p);
  CHECK(std::string(p->payload.begin(), p->payload.end()) == "queued");
  REQUIRE(::ioctl(host.get(), SIOCOUTQ, &unread) == 0);
  CHECK(unread == 0);
}

TEST_CASE_FIXTURE(MuxerFixture, "RSTs for unknown addresses go out before connection packets") {
  UniqueFd host;
  const uint32_t local = host_connection(host);
  host_send(host, "data");
  pump([] { return false; }, 20);
  muxer->on_guest_packet(guest_header(VIRTIO_VSOCK_OP_RW, 1, 2), {});
  auto first = next();
  REQUIRE(first);
  CHECK(first->header.op == VIRTIO_VSOCK_OP_RST);
  CHECK(first->header.dst_port == 1);
  auto second = next();
  REQUIRE(second);
  CHECK(second->header.op == VIRTIO_VSOCK_OP_RW);
  CHECK(second->header.src_port == local);
}

TEST_CASE_FIXTURE(MuxerFixture, "the RST backlog reports full at 256 and is capped") {
  for (uint32_t i = 0; i < 255; ++i)
    muxer->on_guest_packet(guest_header(VIRTIO_VSOCK_OP_RW, i, 1), {});
  CHECK_FALSE(muxer->rx_backlog_full());
  muxer->on_guest_packet(guest_header(VIRTIO_VSOCK_OP_RW, 999, 1), {});
  CHECK(muxer->rx_backlog_full());
  for (uint32_t i = 0; i < 5000; ++i)
    muxer->on_guest_packet(guest_header(VIRTIO_VSOCK_OP_RW, i, 1), {});
  CHECK(counters.dropped_packets == 5256 - 4096);
  size_t n = 0;
  while (muxer->next_rx_packet(100)) ++n;
  CHECK(n == 4096);
  CHECK_FALSE(muxer->rx_backlog_full());
}

TEST_CASE_FIXTURE(MuxerFixture, "host-side ports count up from 2^30 and skip ports in use") {
  muxer->start();
  // A guest connection to host port 2^30 + 1 takes that local port.
  auto l = UnixListener::bind(port_path(path, (1u << 30) + 1), 4);
  REQUIRE(l.has_value());
  muxer->on_guest_packet(guest_header(VIRTIO_VSOCK_OP_REQUEST, 7, (1u << 30) + 1), {});
  auto resp = next();
  REQUIRE(resp);
  CHECK(resp->header.op == VIRTIO_VSOCK_OP_RESPONSE);
  std::vector<UniqueFd> hosts;
  std::vector<uint32_t> ports;
  for (int i = 0; i < 3; ++i) {
    hosts.push_back(host_connect(path));
    host_send(hosts.back(), "CONNECT 80\n");
    auto req = next();
    REQUIRE(req);
    ports.push_back(req->header.src_port);
  }
  CHECK(ports == std::vector<uint32_t>{1u << 30, (1u << 30) + 2, (1u << 30) + 3});
}

TEST_CASE_FIXTURE(MuxerFixture, "stop closes everything and reports the connections") {
  UniqueFd host;
  host_connection(host);
  UniqueFd pending = host_connect(path);  // in a handshake
  REQUIRE(pump([&] { return muxer->handshake_count() == 1; }));
  CHECK(muxer->connection_count() == 1);
  CHECK(muxer->stop() == 1);
  CHECK(muxer->connection_count() == 0);
  CHECK(muxer->handshake_count() == 0);
  CHECK_FALSE(muxer->has_rx_work());
  std::string ignored;
  CHECK_FALSE(host_drain(host, ignored));
  CHECK_FALSE(host_drain(pending, ignored));
  CHECK(counters.active_connections == 0);
}

TEST_CASE_FIXTURE(MuxerFixture, "host data is never read past the guest's credit") {
  UniqueFd host;
  host_connection(host, 80, 10);
  host_send(host, std::string(50, 'c'));
  auto p = next();
  REQUIRE(p);
  CHECK(p->payload.size() == 10);
  CHECK_FALSE(next(4096, 50));
}

TEST_SUITE_END();

}  // namespace
}  // namespace minivmm::vsock
