// Helpers for the virtio-vsock unit tests: a test GuestMemory, a builder for the
// DescriptorChains SplitQueue::pop() would return, vsock header builders, host-side Unix socket
// helpers (blocking connect, non-blocking reads), and GuestDriver, a VsockDevice activated on
// three MockSplitQueues with a local io_context, acting as the guest: it posts RX and event
// buffers, sends TX packets and reads back what the device put on the used rings. It owns no
// production logic.
#pragma once

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <doctest/doctest.h>

#include "devices/virtio/descriptor_chain.hpp"
#include "devices/vsock/vsock_device.hpp"
#include "devices/vsock/vsock_packet.hpp"
#include "tests/support/mock_split_queue.hpp"
#include "tests/support/temp_dir.hpp"
#include "vmm/memory/guest_memory.hpp"
#include "vmm/sys/unique_fd.hpp"

namespace minivmm::vsock::test {

constexpr uint64_t kGuestCid = 3;

inline GuestMemory make_memory(uint64_t bytes = 16 << 20) {
  RegionSpec spec{0, bytes};
  auto m = GuestMemory::create({&spec, 1});
  REQUIRE_MESSAGE(m.has_value(), (m ? std::string() : m.error().message()));
  return std::move(*m);
}

inline std::span<const uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

/// A guest packet header from `src_port` to host port `dst_port`.
inline VsockHeader guest_header(uint16_t op, uint32_t src_port, uint32_t dst_port, uint32_t len = 0,
                                uint32_t buf_alloc = 256 * 1024, uint32_t fwd_cnt = 0) {
  VsockHeader h;
  h.src_cid = kGuestCid;
  h.dst_cid = kHostCid;
  h.src_port = src_port;
  h.dst_port = dst_port;
  h.len = len;
  h.type = VIRTIO_VSOCK_TYPE_STREAM;
  h.op = op;
  h.buf_alloc = buf_alloc;
  h.fwd_cnt = fwd_cnt;
  return h;
}

/// Builds one DescriptorChain in guest memory; buffers are allocated upwards from `base`.
class ChainBuilder {
 public:
  explicit ChainBuilder(const GuestMemory& mem, uint64_t base = 0x10000)
      : m_mem(mem), m_next(base) {}
  ChainBuilder& readable(const std::vector<uint8_t>& bytes) {
    uint64_t a = m_next;
    m_next += (bytes.size() + 15) & ~size_t{15};
    REQUIRE(m_mem.write(a, bytes));
    return add(a, static_cast<uint32_t>(bytes.size()), false);
  }
  ChainBuilder& writable(uint32_t len) {
    uint64_t a = m_next;
    m_next += (uint64_t{len} + 15) & ~uint64_t{15};
    REQUIRE(m_mem.fill_zero(a, len));
    return add(a, len, true);
  }
  ChainBuilder& add(uint64_t addr, uint32_t len, bool writable) {
    chain.descriptors.push_back({addr, len, writable});
    (writable ? chain.writable_len : chain.readable_len) += len;
    return *this;
  }
  virtio::DescriptorChain chain;

 private:
  const GuestMemory& m_mem;
  uint64_t m_next;
};

inline std::vector<uint8_t> packet_bytes(const VsockHeader& h, const std::string& payload = {}) {
  auto hdr = h.encode();
  std::vector<uint8_t> v(hdr.begin(), hdr.end());
  v.insert(v.end(), payload.begin(), payload.end());
  return v;
}

// --- host side ---

inline UniqueFd host_connect(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.data(), path.size());
  REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  return fd;
}

inline void host_send(const UniqueFd& fd, const std::string& s) {
  REQUIRE(::send(fd.get(), s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size()));
}

/// Non-blocking read of what is there; returns false at end of file or on an error.
inline bool host_drain(const UniqueFd& fd, std::string& into) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      into.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;
  }
}

/// The device as the guest sees it: three queues on MockSplitQueues and a local io_context.
class GuestDriver {
 public:
  static constexpr uint16_t kSize = 256;
  static constexpr uint64_t kRings[3] = {0x10000, 0x20000, 0x30000};
  static constexpr uint64_t kBufBase = 0x100000;

  explicit GuestDriver(std::shared_ptr<VsockDevice> d) : mem(make_memory()), dev(std::move(d)) {
    make_rings();
    activate();
  }
  ~GuestDriver() { dev->reset(); }

  void activate() {
    kicks.clear();
    for (int i = 0; i < 3; ++i) {
      auto e = EventFd::create(EFD_NONBLOCK);
      REQUIRE(e.has_value());
      kicks.push_back(std::move(*e));
    }
    auto irq = EventFd::create(EFD_NONBLOCK);
    REQUIRE(irq.has_value());
    interrupt = std::make_shared<virtio::VirtioInterrupt>(std::move(*irq));
    std::vector<virtio::SplitQueue> queues;
    for (auto* q : {rxq.get(), txq.get(), evq.get()})
      queues.push_back(q->make_queue(dev->features(), kSize));
    virtio::Activation a{mem, std::move(queues), kicks, dev->features(), interrupt, io};
    REQUIRE(dev->activate(std::move(a)).has_value());
  }
  /// Fresh rings (as a driver re-initialising after reset) and a new activation.
  void reactivate() {
    make_rings();
    m_rx_seen = m_ev_seen = 0;
    m_rx_addr.clear();
    m_ev_addr.clear();
    activate();
  }
  void make_rings() {
    using virtio::test::MockSplitQueue;
    rxq = std::make_unique<MockSplitQueue>(mem, kSize, kRings[0]);
    txq = std::make_unique<MockSplitQueue>(mem, kSize, kRings[1]);
    evq = std::make_unique<MockSplitQueue>(mem, kSize, kRings[2]);
  }

  uint64_t alloc(uint32_t len) {
    if (m_next + len > (15u << 20)) m_next = kBufBase;
    uint64_t a = m_next;
    m_next += (uint64_t{len} + 63) & ~uint64_t{63};
    return a;
  }

  /// Posts `n` RX buffers of `len` bytes and kicks.
  void post_rx(int n = 8, uint32_t len = 4096) {
    for (int i = 0; i < n; ++i) {
      uint64_t a = alloc(len);
      uint16_t head = rxq->add_chain({{a, len, true}});
      m_rx_addr[head] = a;
      rxq->publish(head);
    }
    kicks[0].signal();
  }
  void post_event(uint32_t len = 4) {
    uint64_t a = alloc(len);
    uint16_t head = evq->add_chain({{a, len, true}});
    m_ev_addr[head] = a;
    evq->publish(head);
    kicks[2].signal();
  }

  /// Sends one TX packet (header and payload in one descriptor unless split) and kicks.
  uint16_t send(const VsockHeader& h, const std::string& payload = {}, bool split = false) {
    std::vector<uint8_t> bytes = packet_bytes(h, payload);
    uint64_t a = alloc(static_cast<uint32_t>(bytes.size()));
    REQUIRE(mem.write(a, bytes));
    uint16_t head;
    if (split && bytes.size() > 10) {
      auto n = static_cast<uint32_t>(bytes.size());
      head = txq->add_chain({{a, 10, false}, {a + 10, n - 10, false}});
    } else {
      head = txq->add_chain({{a, static_cast<uint32_t>(bytes.size()), false}});
    }
    txq->publish(head);
    kicks[1].signal();
    return head;
  }
  /// Sends raw descriptors on the TX queue.
  void send_raw(std::initializer_list<virtio::test::Buf> bufs) {
    txq->publish(txq->add_chain(bufs));
    kicks[1].signal();
  }

  struct Packet {
    VsockHeader h;
    std::string payload;
    uint32_t used_len = 0;
  };
  /// The next packet the device put on the RX used ring, pumping the loop until one arrives
  /// (up to `timeout`).
  std::optional<Packet> recv(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    if (!pump([&] { return rxq->used_idx() != m_rx_seen; }, timeout)) return std::nullopt;
    vring_used_elem e = rxq->used_elem(m_rx_seen++);
    Packet p;
    p.used_len = e.len;
    if (e.len < kHeaderSize) return p;
    std::array<uint8_t, kHeaderSize> raw;
    uint64_t a = m_rx_addr.at(static_cast<uint16_t>(e.id));
    REQUIRE(mem.read(a, raw));
    p.h = VsockHeader::decode(raw);
    p.payload.resize(e.len - kHeaderSize);
    REQUIRE(mem.read(a + kHeaderSize,
                     {reinterpret_cast<uint8_t*>(p.payload.data()), p.payload.size()}));
    return p;
  }
  /// Like recv() but fails the test when nothing comes.
  Packet expect(uint16_t op) {
    auto p = recv();
    REQUIRE_MESSAGE(p.has_value(), "no RX packet, expected op " << op);
    CHECK(p->h.op == op);
    return *p;
  }
  /// True when no RX packet arrives within `ms`.
  bool quiet(int ms = 50) { return !recv(std::chrono::milliseconds(ms)).has_value(); }
  uint16_t rx_seen() const { return m_rx_seen; }
  /// The id of the next completed event buffer and its used length.
  std::optional<std::pair<uint32_t, uint32_t>> recv_event(int ms = 2000) {
    if (!pump([&] { return evq->used_idx() != m_ev_seen; }, std::chrono::milliseconds(ms)))
      return std::nullopt;
    vring_used_elem e = evq->used_elem(m_ev_seen++);
    uint32_t id = 0xFFFFFFFF;
    if (e.len >= 4) id = *mem.read_obj<uint32_t>(m_ev_addr.at(static_cast<uint16_t>(e.id)));
    return std::make_pair(id, e.len);
  }

  /// Runs the loop until `pred` holds or `timeout` passes.
  bool pump(const std::function<bool()>& pred,
            std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
      if (std::chrono::steady_clock::now() >= end) return false;
      io.restart();
      io.run_for(std::chrono::milliseconds(2));
    }
    return true;
  }
  void run_for(int ms) {
    pump([] { return false; }, std::chrono::milliseconds(ms));
  }

  boost::asio::io_context io;
  GuestMemory mem;
  std::unique_ptr<virtio::test::MockSplitQueue> rxq, txq, evq;
  std::vector<EventFd> kicks;
  std::shared_ptr<virtio::VirtioInterrupt> interrupt;
  std::shared_ptr<VsockDevice> dev;

 private:
  uint64_t m_next = kBufBase;
  uint16_t m_rx_seen = 0;
  uint16_t m_ev_seen = 0;
  std::unordered_map<uint16_t, uint64_t> m_rx_addr;
  std::unordered_map<uint16_t, uint64_t> m_ev_addr;
};

/// A device with a fresh uds path in a temporary directory.
struct VsockFixture {
  explicit VsockFixture(VsockOptions o = {}) {
    o.guest_cid = kGuestCid;
    o.uds_path = (dir.path() / "v.sock").string();
    options = o;
    auto d = VsockDevice::create(o);
    REQUIRE_MESSAGE(d.has_value(), (d ? std::string() : d.error().message()));
    device = *d;
  }
  std::string path() const { return options.uds_path; }
  minivmm::test::TempDir dir;
  VsockOptions options;
  std::shared_ptr<VsockDevice> device;
};

}  // namespace minivmm::vsock::test
