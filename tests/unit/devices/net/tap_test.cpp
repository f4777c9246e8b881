// Unit tests of Tap: name validation, adopt() refusing descriptors that are not vnet-header taps,
// errno classification on the socketpair stand-in, and, where /dev/net/tun is usable (root or
// CAP_NET_ADMIN; otherwise those cases print a message and return), real taps: creation brings
// the link up, the offload probe, attaching to an existing interface, adopt() of runtime-opened
// descriptors, frames with vnet headers both ways through an AF_PACKET socket, and the interface
// disappearing when its last descriptor closes.
#include "devices/net/tap.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <optional>

#include <doctest/doctest.h>

#include "net_test_support.hpp"

namespace minivmm::net {
namespace {

TEST_SUITE_BEGIN("net/tap");

using test::open_tap_or_skip;

/// A raw tun/tap descriptor as a container runtime would open it; -1 if unavailable.
int raw_tun(const std::string& name, unsigned flags) {
  int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) return -1;
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  ifr.ifr_flags = static_cast<short>(flags);
  if (::ioctl(fd, TUNSETIFF, &ifr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool link_is_up(const std::string& name) {
  UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  REQUIRE(::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) == 0);
  return (ifr.ifr_flags & IFF_UP) != 0;
}

TEST_CASE("open refuses a name longer than IFNAMSIZ - 1") {
  auto t = Tap::open(std::string(IFNAMSIZ, 'x'));
  REQUIRE_FALSE(t.has_value());
  CHECK(t.error().code() == ErrorCode::invalid_config);
}

TEST_CASE("adopt refuses a negative fd and a descriptor that is not a tun/tap") {
  auto neg = Tap::adopt(-1);
  REQUIRE_FALSE(neg.has_value());
  CHECK(neg.error().code() == ErrorCode::invalid_config);
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  ::close(p[1]);
  auto pipe = Tap::adopt(p[0]);  // takes ownership: closed on error
  REQUIRE_FALSE(pipe.has_value());
  CHECK(pipe.error().message().find("TUNGETIFF") != std::string::npos);
  CHECK(::fcntl(p[0], F_GETFD) == -1);
}

TEST_CASE("stand-in I/O: nothing queued would block, a closed peer fails the tap") {
  test::StandIn s;
  Tap tap = Tap::from_fd_for_testing(std::move(s.device_end), "mvstand0");
  std::vector<uint8_t> buf(kMaxFrameLen);
  CHECK(tap.read_frame(buf).status == TapIoStatus::would_block);
  CHECK(tap.set_offload(TUN_F_CSUM).has_value());
  CHECK(tap.offloads() == TUN_F_CSUM);
  s.peer.reset();
  CHECK(tap.read_frame(buf).status == TapIoStatus::failed);
  TapIo w = tap.write_frame(std::vector<uint8_t>(60, 0));
  CHECK(w.status == TapIoStatus::failed);
  CHECK(w.error == EPIPE);
}

TEST_CASE("the errno values of a deleted tap are failures, per-frame ones are not") {
  for (int e : {EBADFD, EIO, ENODEV, EBADF}) CHECK(is_tap_failure_errno(e));
  for (int e : {EINVAL, EMSGSIZE, EFAULT, EAGAIN, ENOBUFS}) CHECK_FALSE(is_tap_failure_errno(e));
}

TEST_CASE("open creates a tap that is up, probes offloads and disappears when closed") {
  REQUIRE(::if_nametoindex("mvtest0") == 0);
  {
    auto tap = open_tap_or_skip("mvtest0");
    if (!tap) return;
    CHECK(tap->created());
    CHECK(tap->name() == "mvtest0");
    CHECK(::if_nametoindex("mvtest0") != 0);
    CHECK(link_is_up("mvtest0"));
    CHECK((tap->supported_offloads() & TUN_F_CSUM) != 0);
    CHECK((tap->supported_offloads() & TUN_F_TSO4) != 0);
    CHECK(tap->offloads() == 0);
    CHECK(tap->set_offload(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6).has_value());
    auto busy = Tap::open("mvtest0");  // a single-queue tap takes one attachment
    REQUIRE_FALSE(busy.has_value());
    CHECK(busy.error().message().rfind("tap mvtest0: TUNSETIFF: ", 0) == 0);
  }
  CHECK(::if_nametoindex("mvtest0") == 0);
}

TEST_CASE("open attaches to an existing persistent tap without creating it") {
  int fd = raw_tun("mvtest2", IFF_TAP | IFF_NO_PI);
  if (fd < 0) {
    MESSAGE("skipped, no usable /dev/net/tun");
    return;
  }
  REQUIRE(::ioctl(fd, TUNSETPERSIST, 1) == 0);
  ::close(fd);
  {
    auto tap = Tap::open("mvtest2");
    REQUIRE_MESSAGE(tap.has_value(), (tap ? std::string() : tap.error().message()));
    CHECK_FALSE(tap->created());
    CHECK(::ioctl(tap->fd(), TUNSETPERSIST, 0) == 0);
  }
  CHECK(::if_nametoindex("mvtest2") == 0);
}

TEST_CASE("adopt takes a vnet-header tap and refuses one without, or a tun") {
  int plain = raw_tun("mvtest3", IFF_TAP | IFF_NO_PI);
  if (plain < 0) {
    MESSAGE("skipped, no usable /dev/net/tun");
    return;
  }
  auto refused = Tap::adopt(plain);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code() == ErrorCode::invalid_config);
  CHECK(refused.error().message().find("IFF_VNET_HDR") != std::string::npos);
  auto tun = Tap::adopt(raw_tun("mvtest3", IFF_TUN | IFF_NO_PI | IFF_VNET_HDR));
  REQUIRE_FALSE(tun.has_value());
  CHECK(tun.error().code() == ErrorCode::invalid_config);

  auto tap = Tap::adopt(raw_tun("mvtest3", IFF_TAP | IFF_NO_PI | IFF_VNET_HDR));
  REQUIRE_MESSAGE(tap.has_value(), (tap ? std::string() : tap.error().message()));
  CHECK(tap->name() == "mvtest3");
  CHECK_FALSE(tap->created());
  CHECK((tap->supported_offloads() & TUN_F_CSUM) != 0);
  CHECK((::fcntl(tap->fd(), F_GETFL) & O_NONBLOCK) != 0);
}

TEST_CASE("a real tap carries frames with 12-byte vnet headers both ways") {
  auto tap = open_tap_or_skip("mvtest4");
  if (!tap) return;
  test::PacketSocket host("mvtest4");

  // Host -> tap: the frame arrives with a header in front.
  auto eth = host.send(60, 0xab);
  std::vector<uint8_t> buf(kMaxFrameLen);
  TapIo r{};
  for (int i = 0; i < 1000; ++i) {
    r = tap->read_frame(buf);
    if (r.status == TapIoStatus::ok && buf[kVnetHdrSize + 12] == 0x88) break;
    ::usleep(1000);
  }
  REQUIRE(r.status == TapIoStatus::ok);
  CHECK(r.bytes == kVnetHdrSize + eth.size());
  CHECK(std::equal(eth.begin(), eth.end(), buf.begin() + kVnetHdrSize));

  // Tap -> host: a frame written with a plain header is seen by the packet socket.
  auto f = test::frame(60, 0xcd);
  f[kVnetHdrSize + 12] = 0x88;
  f[kVnetHdrSize + 13] = 0xb5;
  CHECK(tap->write_frame(f).status == TapIoStatus::ok);
  auto seen = host.recv_test_frame();
  CHECK(seen == std::vector<uint8_t>(f.begin() + kVnetHdrSize, f.end()));
}

TEST_SUITE_END();

}  // namespace
}  // namespace minivmm::net
