// Unit tests of EventFd: consume() returns the number of signal() calls since the last consume
// and clears the counter; a non-blocking eventfd with nothing pending consumes 0 at once; a
// blocking one wakes when another thread signals; the descriptor is close-on-exec and becomes
// readable (poll) after a signal.
#include "vmm/sys/event_fd.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>

#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

namespace minivmm {
namespace {

EventFd make(int flags = EFD_NONBLOCK) {
  auto e = EventFd::create(flags);
  REQUIRE(e.has_value());
  return std::move(*e);
}

TEST_CASE("create gives a valid close-on-exec descriptor") {
  EventFd e = make();
  REQUIRE(e.fd() >= 0);
  CHECK((::fcntl(e.fd(), F_GETFD) & FD_CLOEXEC) != 0);
}

TEST_CASE("create with EFD_NONBLOCK makes the descriptor non-blocking") {
  EventFd e = make(EFD_NONBLOCK);
  CHECK((::fcntl(e.fd(), F_GETFL) & O_NONBLOCK) != 0);
  EventFd b = make(0);
  CHECK((::fcntl(b.fd(), F_GETFL) & O_NONBLOCK) == 0);
}

TEST_CASE("consume returns the number of signals and clears the counter") {
  EventFd e = make();
  e.signal();
  CHECK(e.consume() == 1);
  e.signal();
  e.signal();
  e.signal();
  CHECK(e.consume() == 3);
  CHECK(e.consume() == 0);
}

TEST_CASE("non-blocking consume with nothing pending returns 0 at once") {
  EventFd e = make();
  CHECK(e.consume() == 0);
}

TEST_CASE("a signal makes the descriptor readable for poll") {
  EventFd e = make();
  pollfd p{e.fd(), POLLIN, 0};
  CHECK(::poll(&p, 1, 0) == 0);
  e.signal();
  CHECK(::poll(&p, 1, 0) == 1);
  CHECK((p.revents & POLLIN) != 0);
  e.consume();
  p.revents = 0;
  CHECK(::poll(&p, 1, 0) == 0);
}

TEST_CASE("a blocking consume wakes when another thread signals") {
  EventFd e = make(0);
  auto waiter = std::async(std::launch::async, [&] { return e.consume(); });
  CHECK(waiter.wait_for(std::chrono::milliseconds(50)) == std::future_status::timeout);
  e.signal();
  REQUIRE(waiter.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  CHECK(waiter.get() == 1);
}

TEST_CASE("signals from several threads are all counted") {
  EventFd e = make();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) e.signal();
    });
  for (auto& t : threads) t.join();
  CHECK(e.consume() == 4000);
}

}  // namespace
}  // namespace minivmm
