// Unit tests of HostAcceptor on a local io_context with real Unix sockets: completed handshakes
// handed over with the port and the early bytes, the admit hook, the handshake timeout,
// malformed lines, a backlog larger than one accept budget, and stop().
#include "devices/vsock/vsock_acceptor.hpp"

#include <fcntl.h>
#include <sys/socket.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "devices/vsock/vsock_unix.hpp"
#include "vsock_test_support.hpp"

namespace minivmm::vsock {
namespace {

TEST_SUITE_BEGIN("vsock/acceptor");

using test::host_connect;
using test::host_drain;
using test::host_send;

struct Connected {
  UniqueFd fd;
  uint32_t port;
  std::string leftover;
};

struct AcceptorFixture {
  explicit AcceptorFixture(std::chrono::milliseconds timeout = std::chrono::seconds(2))
      : path((dir.path() / "a.sock").string()) {
    auto l = UnixListener::bind(path, 64);
    REQUIRE(l.has_value());
    listener.emplace(std::move(*l));
    UniqueFd dup(::fcntl(listener->fd(), F_DUPFD_CLOEXEC, 0));
    AcceptorHooks hooks{
        [this] { return admit; },
        [this](UniqueFd fd, uint32_t port, std::span<const uint8_t> rest) {
          connected.push_back({std::move(fd), port, std::string(rest.begin(), rest.end())});
        }};
    acceptor.emplace(
        io, std::move(dup), timeout, [](const std::function<void()>& fn) { fn(); },
        std::move(hooks));
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
  bool closed(const UniqueFd& fd) {
    std::string ignored;
    return pump([&] { return !host_drain(fd, ignored); });
  }

  minivmm::test::TempDir dir;
  std::string path;
  boost::asio::io_context io;
  std::optional<UnixListener> listener;
  bool admit = true;
  std::vector<Connected> connected;
  std::optional<HostAcceptor> acceptor;
};

TEST_CASE_FIXTURE(AcceptorFixture, "a CONNECT line hands over the socket, port and early bytes") {
  acceptor->start();
  UniqueFd host = host_connect(path);
  host_send(host, "CONN");
  CHECK_FALSE(pump([&] { return !connected.empty(); }, 30));
  CHECK(acceptor->handshake_count() == 1);
  host_send(host, "ECT 1234\nearly");
  REQUIRE(pump([&] { return !connected.empty(); }));
  CHECK(connected[0].port == 1234);
  CHECK(connected[0].leftover == "early");
  CHECK(acceptor->handshake_count() == 0);
  // The handed-over descriptor is the host's peer.
  host_send(host, "more");
  char buf[8];
  REQUIRE(
      pump([&] { return ::recv(connected[0].fd.get(), buf, 4, MSG_PEEK | MSG_DONTWAIT) == 4; }));
}

TEST_CASE_FIXTURE(AcceptorFixture, "connections refused by admit are closed at once") {
  admit = false;
  acceptor->start();
  UniqueFd host = host_connect(path);
  host_send(host, "CONNECT 1\n");
  CHECK(closed(host));
  CHECK(connected.empty());
}

TEST_CASE("a host that sends no line within the timeout is closed") {
  AcceptorFixture f(std::chrono::milliseconds(50));
  f.acceptor->start();
  UniqueFd host = host_connect(f.path);
  host_send(host, "CONNECT 1");
  CHECK(f.closed(host));
  CHECK(f.connected.empty());
  CHECK(f.acceptor->handshake_count() == 0);
}

TEST_CASE_FIXTURE(AcceptorFixture, "malformed and overlong lines and early EOF are closed") {
  acceptor->start();
  UniqueFd bad = host_connect(path);
  host_send(bad, "PUT 1\n");
  UniqueFd overlong = host_connect(path);
  host_send(overlong, "CONNECT " + std::string(200, '7') + "\n");
  UniqueFd eof = host_connect(path);
  host_send(eof, "CONNECT 1");
  ::shutdown(eof.get(), SHUT_WR);
  CHECK(closed(bad));
  CHECK(closed(overlong));
  CHECK(closed(eof));
  CHECK(connected.empty());
}

TEST_CASE_FIXTURE(AcceptorFixture, "a backlog larger than one accept budget is fully accepted") {
  std::vector<UniqueFd> hosts;
  for (int i = 0; i < 50; ++i) {
    hosts.push_back(host_connect(path));
    host_send(hosts.back(), "CONNECT " + std::to_string(i) + "\n");
  }
  acceptor->start();
  CHECK(pump([&] { return connected.size() == 50; }));
}

TEST_CASE_FIXTURE(AcceptorFixture, "stop closes handshakes in progress and stops accepting") {
  acceptor->start();
  UniqueFd host = host_connect(path);
  REQUIRE(pump([&] { return acceptor->handshake_count() == 1; }));
  acceptor->stop();
  CHECK(acceptor->handshake_count() == 0);
  std::string ignored;
  CHECK_FALSE(host_drain(host, ignored));
  UniqueFd later = host_connect(path);  // waits in the backlog
  host_send(later, "CONNECT 1\n");
  CHECK_FALSE(pump([&] { return !connected.empty(); }, 50));
}

TEST_SUITE_END();

}  // namespace
}  // namespace minivmm::vsock
