// Helpers for the virtio-net unit tests: a test GuestMemory, frame builders (a vnet header plus
// an Ethernet frame of a given size and fill), and NetHarness, a NetDevice activated on two
// MockSplitQueues whose tap is either a real one or a SOCK_SEQPACKET socketpair stand-in (the
// test holds the peer end, sending and receiving frames as the host network would), with the
// handlers on a local io_context that tests pump. It owns no production logic.
#pragma once

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <boost/asio/io_context.hpp>

#include "devices/net/net_device.hpp"
#include "devices/net/tap.hpp"
#include "devices/net/virtio_net_abi.hpp"
#include "devices/net/vnet_header.hpp"
#include "tests/support/mock_split_queue.hpp"
#include "vmm/memory/guest_memory.hpp"
#include "vmm/memory/x86_layout.hpp"

namespace minivmm::net::test {

constexpr uint64_t bit(unsigned b) {
  return 1ULL << b;
}

inline GuestMemory make_memory(uint64_t bytes = 16 << 20) {
  auto m = GuestMemory::create(x86::ram_regions(bytes));
  REQUIRE_MESSAGE(m.has_value(), (m ? std::string() : m.error().message()));
  return std::move(*m);
}

/// A vnet header (all fields given) followed by `eth_len` bytes: a broadcast Ethernet header,
/// then `fill`.
inline std::vector<uint8_t> frame(size_t eth_len, uint8_t fill, virtio_net_hdr_v1 hdr = {}) {
  std::vector<uint8_t> f(kVnetHdrSize + eth_len, fill);
  std::memcpy(f.data(), &hdr, sizeof hdr);
  for (size_t i = 0; i < 6 && i < eth_len; ++i) f[kVnetHdrSize + i] = 0xff;
  return f;
}

inline virtio_net_hdr_v1 header_of(const std::vector<uint8_t>& f) {
  virtio_net_hdr_v1 h{};
  std::memcpy(&h, f.data(), sizeof h);
  return h;
}

/// A socketpair stand-in for the tap; `peer` is the host side.
struct StandIn {
  StandIn() {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
    device_end = UniqueFd(sv[0]);
    peer = UniqueFd(sv[1]);
  }
  UniqueFd device_end;
  UniqueFd peer;
};

/// A NetDevice activated over two MockSplitQueues (rx at kRxRings, tx at kTxRings).
class NetHarness {
 public:
  static constexpr uint64_t kRxRings = 0x1000;
  static constexpr uint64_t kTxRings = 0x3000;

  /// `want` is intersected with the offered features.
  NetHarness(Tap tap, uint64_t want = ~0ULL, NetDeviceOptions o = {}, uint16_t size = 16)
      : mem(make_memory()), m_size(size) {
    auto d = NetDevice::create(std::move(tap), o);
    REQUIRE_MESSAGE(d.has_value(), (d ? std::string() : d.error().message()));
    dev = *d;
    for (int i = 0; i < 2; ++i) {
      auto e = EventFd::create(EFD_NONBLOCK);
      REQUIRE(e.has_value());
      kicks.push_back(std::move(*e));
    }
    auto irq = EventFd::create(EFD_NONBLOCK);
    REQUIRE(irq.has_value());
    interrupt = std::make_shared<virtio::VirtioInterrupt>(std::move(*irq));
    acked = dev->features() & want;
    activate();
  }
  /// The driver re-initialises its rings (after a reset) and activates again.
  void reactivate() {
    io.restart();
    activate();
  }
  NetHarness(StandIn& s, uint64_t want = ~0ULL, NetDeviceOptions o = {}, uint16_t size = 16)
      : NetHarness(Tap::from_fd_for_testing(std::move(s.device_end), "mvstand0"), want, o, size) {}
  ~NetHarness() { dev->reset(); }

  void activate() {
    rx.emplace(mem, m_size, kRxRings);
    tx.emplace(mem, m_size, kTxRings);
    std::vector<virtio::SplitQueue> queues;
    queues.push_back(rx->make_queue(acked, 256));
    queues.push_back(tx->make_queue(acked, 256));
    virtio::Activation a{mem, std::move(queues), kicks, acked, interrupt, io};
    auto r = dev->activate(std::move(a));
    REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error().message()));
  }

  void kick_rx() { kicks[NetDevice::kRxQueue].signal(); }
  void kick_tx() { kicks[NetDevice::kTxQueue].signal(); }

  /// Runs the loop until `pred` holds (5 s at most).
  bool pump(const std::function<bool()>& pred) {
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!pred() && std::chrono::steady_clock::now() < end) {
      io.restart();
      io.run_for(std::chrono::milliseconds(2));
    }
    return pred();
  }
  /// Runs the loop for `ms` and returns the number of handlers it executed.
  size_t run_for(int ms) {
    io.restart();
    return io.run_for(std::chrono::milliseconds(ms));
  }

  /// Lays `bytes` out in guest memory as one readable chain split into `pieces` descriptors
  /// and publishes it on the TX queue.
  uint16_t post_tx(const std::vector<uint8_t>& bytes, size_t pieces = 1) {
    uint64_t a = alloc(bytes.size());
    REQUIRE(mem.write(a, bytes));
    std::vector<virtio::test::Buf> bufs;
    size_t off = 0;
    for (size_t i = 0; i < pieces; ++i) {
      size_t n = i + 1 == pieces ? bytes.size() - off : bytes.size() / pieces;
      bufs.push_back({a + off, static_cast<uint32_t>(n), false});
      off += n;
    }
    uint16_t head = tx->add_chain(bufs);
    tx->publish(head);
    return head;
  }
  /// Publishes one writable RX chain of `len` bytes (0xee-filled); returns its guest address.
  uint64_t post_rx(uint32_t len) {
    uint64_t a = alloc(len);
    REQUIRE(mem.write(a, std::vector<uint8_t>(len, 0xee)));
    rx->publish(rx->add_chain({{a, len, true}}));
    return a;
  }
  uint64_t alloc(uint64_t len) {
    uint64_t a = m_next;
    m_next += (len + 4095) & ~uint64_t{4095};
    return a;
  }
  std::vector<uint8_t> read(uint64_t gpa, size_t len) const {
    std::vector<uint8_t> out(len);
    REQUIRE(mem.read(gpa, out));
    return out;
  }

  boost::asio::io_context io;
  GuestMemory mem;
  std::optional<virtio::test::MockSplitQueue> rx;
  std::optional<virtio::test::MockSplitQueue> tx;
  std::vector<EventFd> kicks;
  std::shared_ptr<virtio::VirtioInterrupt> interrupt;
  std::shared_ptr<NetDevice> dev;
  uint64_t acked = 0;

 private:
  uint16_t m_size;
  uint64_t m_next = 0x10000;
};

/// Tap::open(name), or nullopt (with a message) when this host cannot create taps (no
/// /dev/net/tun, or neither root nor CAP_NET_ADMIN): the real-tap cases then pass vacuously.
inline std::optional<Tap> open_tap_or_skip(const std::string& name) {
  auto t = Tap::open(name);
  if (!t) {
    const int v = t.error().code().value();
    if (t.error().code().category() == std::system_category() &&
        (v == EPERM || v == EACCES || v == ENOENT || v == ENODEV)) {
      MESSAGE("skipped, no usable /dev/net/tun: " << t.error().message());
      return std::nullopt;
    }
  }
  REQUIRE_MESSAGE(t.has_value(), (t ? std::string() : t.error().message()));
  return std::move(*t);
}

/// An AF_PACKET socket bound to a real interface: the host network's view of a tap. Test frames
/// use the local experimental ethertype 0x88b5 so the host's own traffic (IPv6 router
/// solicitations...) can be told apart.
class PacketSocket {
 public:
  static constexpr uint8_t kType[2] = {0x88, 0xb5};

  explicit PacketSocket(const std::string& ifname)
      : m_fd(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ALL))) {
    REQUIRE(m_fd.valid());
    sockaddr_ll ll{};
    ll.sll_family = AF_PACKET;
    ll.sll_protocol = htons(ETH_P_ALL);
    ll.sll_ifindex = static_cast<int>(::if_nametoindex(ifname.c_str()));
    REQUIRE(::bind(m_fd.get(), reinterpret_cast<sockaddr*>(&ll), sizeof ll) == 0);
  }
  /// Sends a broadcast test frame of `len` bytes filled with `fill`; returns it.
  std::vector<uint8_t> send(size_t len, uint8_t fill) {
    std::vector<uint8_t> eth(len, fill);
    std::fill(eth.begin(), eth.begin() + 6, uint8_t{0xff});
    eth[12] = kType[0];
    eth[13] = kType[1];
    REQUIRE(::send(m_fd.get(), eth.data(), eth.size(), 0) == static_cast<ssize_t>(eth.size()));
    return eth;
  }
  /// Waits up to 1 s for a test frame on the interface; empty if none came.
  std::vector<uint8_t> recv_test_frame() {
    for (int i = 0; i < 1000; ++i) {
      std::vector<uint8_t> in(kMaxFrameLen);
      ssize_t n = ::recv(m_fd.get(), in.data(), in.size(), 0);
      if (n >= 14 && in[12] == kType[0] && in[13] == kType[1]) {
        in.resize(static_cast<size_t>(n));
        return in;
      }
      if (n < 0) ::usleep(1000);
    }
    return {};
  }

 private:
  UniqueFd m_fd;
};

/// Sends one frame from the host side; false if the socket refused it.
inline bool peer_send(const UniqueFd& peer, const std::vector<uint8_t>& f) {
  return ::send(peer.get(), f.data(), f.size(), MSG_NOSIGNAL | MSG_DONTWAIT) ==
         static_cast<ssize_t>(f.size());
}

/// Receives one frame on the host side (empty when none is queued).
inline std::vector<uint8_t> peer_recv(const UniqueFd& peer) {
  std::vector<uint8_t> buf(kMaxFrameLen + 16);
  ssize_t n = ::recv(peer.get(), buf.data(), buf.size(), MSG_DONTWAIT);
  buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return buf;
}

}  // namespace minivmm::net::test
