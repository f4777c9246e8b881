// Unit tests of FsDevice against a FakeBackend listening on a Unix socket: option and tag
// validation, negotiation at create() (message sequence, offered features, refusals, a silent
// backend), the read-only configuration space, the activation message sequence (features, memory
// table, per-ring NUM/BASE/ADDR/CALL/KICK/ENABLE with the queue eventfd and the irqfd, sticky
// VRING status), reset (GET_VRING_BASE), notify, and backend loss: EOF while active, a timeout
// during activation or reset, and re-activation after loss all end with the error recorded,
// on_error called once on the loop, and the guest's requests answered with ENOTCONN.
#include "devices/fs/fs_device.hpp"

#include <linux/fuse.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <filesystem>
#include <thread>

#include <doctest/doctest.h>

#include "tests/support/temp_dir.hpp"
#include "tests/unit/devices/fs/fs_test_support.hpp"
#include "tests/unit/devices/vhost_user/fake_backend.hpp"

namespace minivmm::fs {
namespace {

TEST_SUITE_BEGIN("fs/device");

namespace vu = vhost_user;
using test::Buf;
using vu::Request;
using vu::test::FakeBackend;
using namespace std::chrono_literals;

constexpr uint64_t bit(unsigned b) {
  return 1ull << b;
}
constexpr uint64_t kBackendFeatures = bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_RING_F_EVENT_IDX) |
                                      bit(VIRTIO_RING_F_INDIRECT_DESC) | bit(24) | bit(26) |
                                      bit(vu::kFeatureProtocolFeatures);
constexpr uint64_t kProtocol =
    bit(vu::kProtocolMq) | bit(1) | bit(vu::kProtocolReplyAck) | bit(5) | bit(15);

/// A fake backend listening in a private directory.
struct Backend {
  explicit Backend(vu::test::Handler h = vu::test::standard_handler(kBackendFeatures, kProtocol))
      : path((dir.path() / "fs.sock").string()), fake(path, std::move(h)) {}
  minivmm::test::TempDir dir;
  std::string path;
  FakeBackend fake;
  std::vector<Request> codes() {
    std::lock_guard l(fake.mutex());
    std::vector<Request> c;
    for (const auto& r : fake.log()) c.push_back(r.code());
    return c;
  }
};

FsDeviceOptions options(const std::string& path, std::string tag = "myfs") {
  FsDeviceOptions o;
  o.tag = std::move(tag);
  o.socket_path = path;
  o.queue_size = 16;
  o.backend_timeout = 300ms;
  return o;
}

std::shared_ptr<FsDevice> make(FsDeviceOptions o) {
  auto d = FsDevice::create(std::move(o));
  REQUIRE_MESSAGE(d.has_value(), (d ? std::string() : d.error().message()));
  return *d;
}

TEST_CASE("tags are 1..36 bytes of UTF-8 without control characters") {
  CHECK(validate_fs_tag("myfs").has_value());
  CHECK(validate_fs_tag(std::string(36, 'a')).has_value());
  CHECK(validate_fs_tag("sp\xc3\xa4\xc3\x9f").has_value());
  CHECK_FALSE(validate_fs_tag("").has_value());
  CHECK_FALSE(validate_fs_tag(std::string(37, 'a')).has_value());
  CHECK_FALSE(validate_fs_tag("a\nb").has_value());
  CHECK_FALSE(validate_fs_tag(std::string("a\0b", 3)).has_value());
  CHECK_FALSE(validate_fs_tag("\xff").has_value());
  CHECK_FALSE(validate_fs_tag("\xc0\x80").has_value());
  CHECK_FALSE(validate_fs_tag("\xe2\x82").has_value());
}

TEST_CASE("create rejects bad options before connecting") {
  for (auto mutate : std::vector<void (*)(FsDeviceOptions&)>{
           [](FsDeviceOptions& o) { o.tag = ""; }, [](FsDeviceOptions& o) { o.queue_size = 0; },
           [](FsDeviceOptions& o) { o.queue_size = 48; },
           [](FsDeviceOptions& o) { o.queue_size = 2048; },
           [](FsDeviceOptions& o) { o.num_request_queues = 0; },
           [](FsDeviceOptions& o) { o.backend_timeout = 0ms; }}) {
    FsDeviceOptions o = options("/nonexistent/fs.sock");
    mutate(o);
    auto d = FsDevice::create(o);
    REQUIRE_FALSE(d.has_value());
    CHECK(d.error().code() == make_error_code(ErrorCode::invalid_config));
  }
}

TEST_CASE("create fails naming the socket when no backend listens") {
  auto d = FsDevice::create(options("/nonexistent/fs.sock"));
  REQUIRE_FALSE(d.has_value());
  CHECK(d.error().message().find("/nonexistent/fs.sock") != std::string::npos);
}

TEST_CASE("create negotiates and offers only VERSION_1 and the backend's ring features") {
  Backend b;
  auto dev = make(options(b.path));
  CHECK(dev->device_type() == VIRTIO_ID_FS);
  CHECK(dev->features() == (bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_RING_F_EVENT_IDX) |
                            bit(VIRTIO_RING_F_INDIRECT_DESC)));
  CHECK(dev->backend_features() == kBackendFeatures);
  REQUIRE(b.fake.wait_for(5) == 5);
  CHECK(b.codes() == std::vector<Request>{Request::get_features, Request::get_protocol_features,
                                          Request::set_protocol_features, Request::get_queue_num,
                                          Request::set_owner});
  std::lock_guard l(b.fake.mutex());
  CHECK(b.fake.log()[2].u64() == (bit(vu::kProtocolMq) | bit(vu::kProtocolReplyAck)));
  CHECK(dev->counters().backend_connected);
  CHECK_FALSE(dev->backend_error().has_value());
}

TEST_CASE("a backend without protocol features gets GET_FEATURES and SET_OWNER only") {
  Backend b(vu::test::standard_handler(bit(VIRTIO_F_VERSION_1), 0));
  auto dev = make(options(b.path));
  CHECK(dev->features() == bit(VIRTIO_F_VERSION_1));
  REQUIRE(b.fake.wait_for(2) == 2);
  CHECK(b.codes() == std::vector<Request>{Request::get_features, Request::set_owner});
}

TEST_CASE("create refuses a backend without VERSION_1") {
  Backend b(vu::test::standard_handler(bit(VIRTIO_RING_F_EVENT_IDX), 0));
  auto d = FsDevice::create(options(b.path));
  REQUIRE_FALSE(d.has_value());
  CHECK(d.error().message().find("VIRTIO_F_VERSION_1") != std::string::npos);
}

TEST_CASE("create refuses more request queues than the backend serves") {
  Backend b;  // GET_QUEUE_NUM answers 2
  FsDeviceOptions o = options(b.path);
  o.num_request_queues = 2;
  auto d = FsDevice::create(o);
  REQUIRE_FALSE(d.has_value());
  CHECK(d.error().message().find("serves 2 queues") != std::string::npos);
}

TEST_CASE("create times out against a silent backend") {
  Backend b([](FakeBackend&, const vu::test::Request&) {});
  auto start = std::chrono::steady_clock::now();
  auto d = FsDevice::create(options(b.path));
  REQUIRE_FALSE(d.has_value());
  CHECK(std::chrono::steady_clock::now() - start < 3s);
  CHECK(d.error().message().find("GET_FEATURES: timed out after 300 ms") != std::string::npos);
}

TEST_CASE("config space holds the tag and the request queue count, read-only") {
  Backend b;
  FsDeviceOptions o = options(b.path, "share");
  auto dev = make(o);
  CHECK(dev->config_size() == 40);
  CHECK(dev->queue_max_sizes().size() == 2);
  CHECK(dev->queue_max_sizes()[1] == 16);
  std::vector<uint8_t> cfg(40, 0xff);
  dev->read_config(0, cfg);
  CHECK(std::string(cfg.begin(), cfg.begin() + 5) == "share");
  CHECK(std::all_of(cfg.begin() + 5, cfg.begin() + 36, [](uint8_t c) { return c == 0; }));
  uint32_t n;
  std::memcpy(&n, cfg.data() + 36, 4);
  CHECK(n == 1);
  std::vector<uint8_t> junk(40, 0xaa);
  dev->write_config(0, junk);
  dev->write_config(36, std::vector<uint8_t>(4, 9));
  std::vector<uint8_t> again(40);
  dev->read_config(0, again);
  CHECK(again == cfg);
  std::vector<uint8_t> past(8, 0xff);
  dev->read_config(38, past);
  CHECK(past == std::vector<uint8_t>(8, 0));
  dev->read_config(200, past);
  CHECK(past == std::vector<uint8_t>(8, 0));
}

constexpr uint64_t kAcked = bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_RING_F_EVENT_IDX);

/// One activation on MockSplitQueue rings with a local event loop.
struct Guest {
  GuestMemory mem = test::make_memory();
  test::QueueSet qs{mem, 2, 16, kAcked};
  test::Arena arena{mem, 0x100000};
  boost::asio::io_context io;
  std::shared_ptr<virtio::VirtioInterrupt> irq =
      std::make_shared<virtio::VirtioInterrupt>(EventFd::create(EFD_NONBLOCK).value());
  std::vector<std::string> errors;

  Result<void> activate(FsDevice& dev) {
    return dev.activate(virtio::Activation{mem, qs.queues, qs.kicks, kAcked, irq, io});
  }
  uint64_t request(size_t q, uint64_t unique) {
    auto req = test::fuse_request(FUSE_GETATTR, unique, 1, std::vector<uint8_t>(16, 0));
    uint64_t in = arena.put(req);
    uint64_t out = arena.alloc(128);
    qs.drivers[q].publish(qs.drivers[q].add_chain(
        {Buf{in, static_cast<uint32_t>(req.size()), false}, Buf{out, 128, true}}));
    return out;
  }
  /// Runs the loop until `done` or 3 s.
  template <typename F>
  bool run_until(F done) {
    auto end = std::chrono::steady_clock::now() + 3s;
    while (!done() && std::chrono::steady_clock::now() < end) {
      io.restart();
      io.run_for(10ms);
    }
    return done();
  }
  FsDeviceOptions with_errors(FsDeviceOptions o) {
    o.on_error = [this](const std::string& e) { errors.push_back(e); };
    return o;
  }
};

TEST_CASE("activate hands memory, rings, kick and call fds to the backend") {
  Backend b;
  Guest g;
  auto dev = make(options(b.path));
  REQUIRE(g.activate(*dev).has_value());
  CHECK((g.irq->status() & VIRTIO_MMIO_INT_VRING) != 0);  // sticky
  REQUIRE(b.fake.wait_for(19) == 19);
  std::vector<Request> ring = {Request::set_vring_num,  Request::set_vring_base,
                               Request::set_vring_addr, Request::set_vring_call,
                               Request::set_vring_kick, Request::set_vring_enable};
  std::vector<Request> expect = {Request::set_features, Request::set_mem_table};
  expect.insert(expect.end(), ring.begin(), ring.end());
  expect.insert(expect.end(), ring.begin(), ring.end());
  auto codes = b.codes();
  CHECK(std::vector<Request>(codes.begin() + 5, codes.end()) == expect);
  std::lock_guard l(b.fake.mutex());
  auto& log = b.fake.log();
  CHECK(log[5].u64() == (kAcked | bit(vu::kFeatureProtocolFeatures)));
  CHECK(log[6].fds.size() == 1);
  CHECK(log[13].state().index == 1);  // second ring's SET_VRING_NUM
  CHECK(log[13].state().num == 16);
  uint64_t one = 1;
  REQUIRE(log[17].code() == Request::set_vring_kick);
  REQUIRE(::write(log[17].fds.at(0).get(), &one, 8) == 8);  // as KVM's ioeventfd would
  CHECK(g.qs.kicks[1].consume() == 1);
  REQUIRE(::write(log[16].fds.at(0).get(), &one, 8) == 8);  // as the backend interrupts
  CHECK(g.irq->irq_event().consume() == 1);
  CHECK(log[18].state().num == 1);
}

TEST_CASE("without protocol features activation sends no ENABLE and awaits no acks") {
  Backend b(vu::test::standard_handler(bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_RING_F_EVENT_IDX), 0));
  Guest g;
  auto dev = make(options(b.path));
  REQUIRE(g.activate(*dev).has_value());
  REQUIRE(b.fake.wait_for(14) == 14);
  auto codes = b.codes();
  CHECK(std::count(codes.begin(), codes.end(), Request::set_vring_enable) == 0);
  CHECK(std::count(codes.begin(), codes.end(), Request::set_vring_kick) == 2);
  std::lock_guard l(b.fake.mutex());
  CHECK(b.fake.log()[2].u64() == kAcked);  // SET_FEATURES without the protocol bit
  for (const auto& r : b.fake.log()) CHECK((r.header.flags & vu::kFlagNeedReply) == 0);
}

TEST_CASE("activate refuses wrong queue counts and a second activation") {
  Backend b;
  Guest g;
  auto dev = make(options(b.path));
  CHECK_FALSE(dev->activate(virtio::Activation{g.mem, {}, {}, kAcked, g.irq, g.io}).has_value());
  REQUIRE(g.activate(*dev).has_value());
  CHECK_FALSE(g.activate(*dev).has_value());
  CHECK(dev->counters().activations == 1);
}

TEST_CASE("reset stops every ring with GET_VRING_BASE and ends sticky mode") {
  Backend b;
  Guest g;
  auto dev = make(options(b.path));
  REQUIRE(g.activate(*dev).has_value());
  dev->reset();
  CHECK(g.irq->status() == 0);
  REQUIRE(b.fake.wait_for(21) == 21);
  auto codes = b.codes();
  CHECK(codes[19] == Request::get_vring_base);
  CHECK(codes[20] == Request::get_vring_base);
  CHECK(dev->counters().backend_connected);
  CHECK(g.activate(*dev).has_value());  // a later activation works again
  CHECK(dev->counters().activations == 2);
}

size_t open_fds() {
  size_t n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

TEST_CASE("activate/reset cycles leak no descriptors, with the backend or after its loss") {
  Backend b;
  b.fake.keep_fds = false;
  Guest g;
  auto dev = make(options(b.path));
  REQUIRE(g.activate(*dev).has_value());
  dev->reset();
  size_t before = open_fds();
  for (int i = 0; i < 200; ++i) {
    REQUIRE(g.activate(*dev).has_value());
    dev->reset();
  }
  REQUIRE(b.fake.wait_for(21 + 200 * 16) == 21 + 200 * 16);
  CHECK(open_fds() == before);
  b.fake.close_connection();
  REQUIRE(g.activate(*dev).has_value());
  g.run_until([&] { return dev->counters().queues_taken_over; });
  dev->reset();
  before = open_fds();
  for (int i = 0; i < 200; ++i) {
    REQUIRE(g.activate(*dev).has_value());
    g.run_until([&] { return dev->counters().queues_taken_over; });
    dev->reset();
  }
  g.io.restart();
  g.io.poll();
  CHECK(open_fds() == before);
  CHECK_FALSE(dev->counters().backend_connected);
}

TEST_CASE("notify signals the queue's kick eventfd and ignores other indices") {
  Backend b;
  Guest g;
  auto dev = make(options(b.path));
  REQUIRE(g.activate(*dev).has_value());
  dev->notify(1);
  dev->notify(7);
  CHECK(g.qs.kicks[1].consume() == 1);
  CHECK(g.qs.kicks[0].consume() == 0);
}

TEST_CASE("backend EOF while active: error reported once, guest gets ENOTCONN") {
  Backend b;
  Guest g;
  auto dev = make(g.with_errors(options(b.path)));
  REQUIRE(g.activate(*dev).has_value());
  uint64_t before = g.request(1, 41);  // taken by the backend, never answered
  REQUIRE(b.fake.wait_for(19) == 19);
  b.fake.close_connection();
  REQUIRE(g.run_until([&] { return dev->counters().queues_taken_over; }));
  REQUIRE(g.errors.size() == 1);
  CHECK(g.errors[0].find("backend closed the connection") != std::string::npos);
  CHECK(dev->backend_error() == g.errors[0]);
  CHECK_FALSE(dev->counters().backend_connected);
  CHECK(test::read_out_header(g.mem, before).error == -ENOTCONN);
  CHECK(test::read_out_header(g.mem, before).unique == 41);
  uint64_t after = g.request(1, 42);
  g.qs.kicks[1].signal();
  REQUIRE(g.run_until([&] { return g.qs.drivers[1].used_idx() == 2; }));
  CHECK(test::read_out_header(g.mem, after).unique == 42);
  CHECK(dev->counters().requests_failed_after_loss == 2);
  dev->reset();
  CHECK(g.errors.size() == 1);
}

TEST_CASE("a backend that stops answering during activation is lost, activation succeeds") {
  Backend b([](FakeBackend& be, const vu::test::Request& r) {
    if (r.code() == Request::set_mem_table) return;  // silence from here on
    vu::test::standard_handler(kBackendFeatures, kProtocol)(be, r);
  });
  Guest g;
  auto dev = make(g.with_errors(options(b.path)));
  uint64_t out = g.request(1, 7);
  REQUIRE(g.activate(*dev).has_value());
  REQUIRE(dev->backend_error().has_value());
  CHECK(dev->backend_error()->find("SET_MEM_TABLE: timed out after 300 ms") != std::string::npos);
  REQUIRE(g.run_until([&] { return g.qs.drivers[1].used_idx() == 1; }));
  CHECK(test::read_out_header(g.mem, out).error == -ENOTCONN);
  CHECK(g.errors.size() == 1);
  CHECK(b.fake.wait_closed());  // the connection was closed
}

TEST_CASE("a GET_VRING_BASE timeout in reset is a loss; reset still returns") {
  Backend b([](FakeBackend& be, const vu::test::Request& r) {
    if (r.code() == Request::get_vring_base) return;
    vu::test::standard_handler(kBackendFeatures, kProtocol)(be, r);
  });
  Guest g;
  auto dev = make(g.with_errors(options(b.path)));
  REQUIRE(g.activate(*dev).has_value());
  auto start = std::chrono::steady_clock::now();
  dev->reset();
  CHECK(std::chrono::steady_clock::now() - start < 2s);
  REQUIRE(dev->backend_error().has_value());
  CHECK(dev->backend_error()->find("GET_VRING_BASE") != std::string::npos);
  REQUIRE(g.run_until([&] { return g.errors.size() == 1; }));
}

TEST_CASE("after a loss a new activation serves errors without talking to the backend") {
  Backend b;
  Guest g;
  auto dev = make(g.with_errors(options(b.path)));
  REQUIRE(g.activate(*dev).has_value());
  b.fake.close_connection();
  REQUIRE(g.run_until([&] { return dev->counters().queues_taken_over; }));
  dev->reset();
  Guest g2;
  uint64_t out = g2.request(0, 99);
  REQUIRE(g2.activate(*dev).has_value());
  REQUIRE(g2.run_until([&] { return g2.qs.drivers[0].used_idx() == 1; }));
  CHECK(test::read_out_header(g2.mem, out).unique == 99);
  CHECK(g.errors.size() == 1);
  CHECK(dev->counters().activations == 2);
  dev->reset();  // before g2's event loop goes away
}

}  // namespace
}  // namespace minivmm::fs
