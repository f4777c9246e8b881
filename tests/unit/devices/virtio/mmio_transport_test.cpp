// Unit tests of MmioTransport: the virtio-mmio v2 register file, feature negotiation, the
// 3.1.1 status state machine, activation (and its failure), reset, config-space forwarding and
// every "MMIO transport and device status" case of HOSTILE-GUEST.md, against FakeVirtioDevice.
#include "devices/virtio/mmio_transport.hpp"

#include <dirent.h>
#include <linux/virtio_mmio.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstring>
#include <thread>

#include <doctest/doctest.h>

#include <fstream>

#include "tests/support/mock_split_queue.hpp"
#include "tests/unit/devices/virtio/virtio_test_support.hpp"

namespace minivmm::virtio::test {
namespace {

constexpr uint32_t kAck = VIRTIO_CONFIG_S_ACKNOWLEDGE;
constexpr uint32_t kDriver = VIRTIO_CONFIG_S_DRIVER;
constexpr uint32_t kFeaturesOk = VIRTIO_CONFIG_S_FEATURES_OK;
constexpr uint32_t kDriverOk = VIRTIO_CONFIG_S_DRIVER_OK;
constexpr uint32_t kNeedsReset = VIRTIO_CONFIG_S_NEEDS_RESET;
constexpr uint32_t kFailed = VIRTIO_CONFIG_S_FAILED;
constexpr uint64_t kBuf = 0x8'0000;

size_t open_fd_count() {
  size_t n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  while (::readdir(d) != nullptr) ++n;
  ::closedir(d);
  return n;
}

// Threads of this process, not counting io_uring's kernel workers (iou-*), which earlier tests'
// rings may still be winding down: they come and go on the kernel's schedule, not ours.
size_t thread_count() {
  size_t n = 0;
  DIR* d = ::opendir("/proc/self/task");
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream comm(std::string("/proc/self/task/") + e->d_name + "/comm");
    std::string name;
    std::getline(comm, name);
    if (name.rfind("iou-", 0) != 0) ++n;
  }
  ::closedir(d);
  return n;
}

// True once the thread count is back to `want` (threads that finished may take a moment to be
// reaped from /proc); a real leak never gets there.
bool thread_count_settles_to(size_t want) {
  for (int i = 0; i < 200; ++i) {
    if (thread_count() <= want) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

struct TransportHarness {
  GuestMemory mem = make_test_memory();
  boost::asio::io_context io;
  std::shared_ptr<FakeVirtioDevice> device = std::make_shared<FakeVirtioDevice>();
  std::shared_ptr<MmioTransport> transport;
  MockSplitQueue q0{mem, 16, 0x1000};
  MockSplitQueue q1{mem, 8, 0x4000};

  explicit TransportHarness(std::vector<AddressRange> forbidden = {}) {
    transport = make(std::move(forbidden));
  }
  std::shared_ptr<MmioTransport> make(std::vector<AddressRange> forbidden) {
    std::vector<EventFd> events;
    for (size_t i = 0; i < device->max_sizes.size(); ++i)
      events.push_back(EventFd::create(EFD_NONBLOCK).value());
    MmioTransportParams p{device, &mem, &io, std::move(forbidden)};
    return MmioTransport::create(std::move(p), std::move(events),
                                 EventFd::create(EFD_NONBLOCK).value())
        .value();
  }

  uint32_t r32(uint64_t off) {
    uint32_t v = 0xdeadbeef;
    transport->read(off, std::span(reinterpret_cast<uint8_t*>(&v), 4));
    return v;
  }
  void w32(uint64_t off, uint32_t v) {
    transport->write(off, std::span(reinterpret_cast<const uint8_t*>(&v), 4));
  }
  void w64_pair(uint64_t low_off, uint64_t v) {
    w32(low_off, static_cast<uint32_t>(v));
    w32(low_off + 4, static_cast<uint32_t>(v >> 32));
  }
  void ack_driver() {
    w32(VIRTIO_MMIO_STATUS, kAck);
    w32(VIRTIO_MMIO_STATUS, kAck | kDriver);
  }
  void set_driver_features(uint64_t f) {
    w32(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    w32(VIRTIO_MMIO_DRIVER_FEATURES, static_cast<uint32_t>(f));
    w32(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    w32(VIRTIO_MMIO_DRIVER_FEATURES, static_cast<uint32_t>(f >> 32));
  }
  void features_ok(uint64_t f = kVersion1 | kEventIdx) {
    ack_driver();
    set_driver_features(f);
    w32(VIRTIO_MMIO_STATUS, kAck | kDriver | kFeaturesOk);
  }
  void setup_queue(uint32_t index, const MockSplitQueue& q) {
    w32(VIRTIO_MMIO_QUEUE_SEL, index);
    w32(VIRTIO_MMIO_QUEUE_NUM, q.size());
    w64_pair(VIRTIO_MMIO_QUEUE_DESC_LOW, q.desc_table());
    w64_pair(VIRTIO_MMIO_QUEUE_AVAIL_LOW, q.avail_ring());
    w64_pair(VIRTIO_MMIO_QUEUE_USED_LOW, q.used_ring());
    w32(VIRTIO_MMIO_QUEUE_READY, 1);
  }
  void driver_ok() { w32(VIRTIO_MMIO_STATUS, kAck | kDriver | kFeaturesOk | kDriverOk); }
  void full_init(uint64_t f = kVersion1 | kEventIdx) {
    features_ok(f);
    setup_queue(0, q0);
    setup_queue(1, q1);
    driver_ok();
  }
};

TEST_CASE("mmio transport: identification registers read magic, version 2, ids") {
  TransportHarness h;
  CHECK(h.r32(VIRTIO_MMIO_MAGIC_VALUE) == 0x74726976);
  CHECK(h.r32(VIRTIO_MMIO_VERSION) == 2);
  CHECK(h.r32(VIRTIO_MMIO_DEVICE_ID) == VIRTIO_ID_BLOCK);
  CHECK(h.r32(VIRTIO_MMIO_VENDOR_ID) == MmioTransport::kVendorId);
}

TEST_CASE("mmio transport: device features are read 32 bits at a time, selectors >= 2 read 0") {
  TransportHarness h;
  h.w32(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
  CHECK(h.r32(VIRTIO_MMIO_DEVICE_FEATURES) == static_cast<uint32_t>(h.device->offered));
  h.w32(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
  CHECK(h.r32(VIRTIO_MMIO_DEVICE_FEATURES) == static_cast<uint32_t>(h.device->offered >> 32));
  h.w32(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
  CHECK(h.r32(VIRTIO_MMIO_DEVICE_FEATURES) == 0);
  h.w32(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0xffff'ffff);
  CHECK(h.r32(VIRTIO_MMIO_DEVICE_FEATURES) == 0);
}

TEST_CASE("mmio transport: full initialisation activates the device with validated queues") {
  TransportHarness h;
  h.full_init();
  CHECK(h.transport->activated());
  CHECK(h.device->activations == 1);
  CHECK(h.device->acked == (kVersion1 | kEventIdx));
  REQUIRE(h.device->queues.size() == 2);
  CHECK(h.device->queues[0].active());
  CHECK(h.device->queues[0].size() == 16);
  CHECK(h.device->queues[1].active());
  CHECK(h.r32(VIRTIO_MMIO_STATUS) == (kAck | kDriver | kFeaturesOk | kDriverOk));
}

TEST_CASE("mmio transport: the activated device pops what the driver published") {
  TransportHarness h;
  h.full_init();
  h.q0.publish(h.q0.add_chain({{kBuf, 64, false}, {kBuf + 0x100, 1, true}}));
  PopResult r = h.device->queues[0].pop(h.mem);
  REQUIRE(r.status == PopStatus::chain);
  CHECK(r.chain.descriptors.size() == 2);
}

TEST_CASE("mmio transport: a queue the driver did not make ready is handed over inactive") {
  TransportHarness h;
  h.features_ok();
  h.setup_queue(0, h.q0);
  h.driver_ok();
  REQUIRE(h.device->queues.size() == 2);
  CHECK(h.device->queues[0].active());
  CHECK_FALSE(h.device->queues[1].active());
}

TEST_CASE("mmio transport: driver feature selectors >= 2 are ignored") {
  TransportHarness h;
  h.ack_driver();
  h.set_driver_features(kVersion1);
  h.w32(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 2);
  h.w32(VIRTIO_MMIO_DRIVER_FEATURES, 0xffff'ffff);
  h.w32(VIRTIO_MMIO_STATUS, kAck | kDriver | kFeaturesOk);
  CHECK((h.r32(VIRTIO_MMIO_STATUS) & kFeaturesOk) != 0);
  h.setup_queue(0, h.q0);
  h.driver_ok();
  CHECK(h.device->acked == kVersion1);
}

TEST_CASE("mmio transport: FEATURES_OK is refused for features the device did not offer") {
  TransportHarness h;
  h.features_ok(kVersion1 | (1ull << 40));
  CHECK(h.r32(VIRTIO_MMIO_STATUS) == (kAck | kDriver));
}

TEST_CASE("mmio transport: FEATURES_OK is refused without VERSION_1") {
  TransportHarness h;
  h.features_ok(kEventIdx);
  CHECK(h.r32(VIRTIO_MMIO_STATUS) == (kAck | kDriver));
}

TEST_CASE("mmio transport: FEATURES_OK is refused when the device finds the set inconsistent") {
  TransportHarness h;
  h.device->reject_features = true;
  h.features_ok();
  CHECK(h.r32(VIRTIO_MMIO_STATUS) == (kAck | kDriver));
}

TEST_CASE("mmio transport: a refused FEATURES_OK can be retried with a valid set") {
  TransportHarness h;
  h.features_ok(kEventIdx);
  h.set_driver_features(kVersion1);
  h.w32(VIRTIO_MMIO_STATUS, kAck | kDriver | kFeaturesOk);
  CHECK(h.r32(VIRTIO_MMIO_STATUS) == (kAck | kDriver | kFeaturesOk));
}

TEST_CASE("mmio transport: driver features are frozen after FEATURES_OK") {
  TransportHarness h;
  h.features_ok(kVersion1);
  h.w32(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
  h.w32(VIRTIO_MMIO_DRIVER_FEATURES, 1);
  h.setup_queue(0, h.q0);
  h.driver_ok();
  CHECK(h.device->acked == kVersion1);
}

TEST_CASE("mmio transport: status written out of order is ignored") {
  TransportHarness h;
  h.w32(VIRTIO_MMIO_STATUS, kDriver);
  CHECK(h.r32(VIRTIO_MMIO_STATUS) == 0);
  h.w32(VIRTIO_MMIO_STATUS, kAck);
  h.w32(VIRTIO_MMIO_STATUS, kAck | kDriverOk);
  CHECK(h.r32(VIRTIO_MMIO_STATUS) == kAck);
  h.w32(VIRTIO_MMIO_STATUS, kAck | kDriver);
  h.set_driver_features(kVersion1);
  h.w32(VIRTIO_MMIO_STATUS, kAck | kDriver | kDriverOk);
  CHECK(h.r32(VIRTIO_MMIO_STATUS) == (kAck | kDriver));
  CHECK(h.device->activations == 0);
}

TEST_CASE("mmio transport: clearing status bits is ignored") {
  TransportHarness h;
  h.features_ok();
  h.w32(VIRTIO_MMIO_STATUS, kAck);
  CHECK(h.r32(VIRTIO_MMIO_STATUS) == (kAck | kDriver | kFeaturesOk));
}

TEST_CASE("mmio transport: reserved status bits are ignored") {
  TransportHarness h;
  h.w32(VIRTIO_MMIO_STATUS, kAck | 0x10);
  CHECK(h.r32(VIRTIO_MMIO_STATUS) == 0);
  h.w32(VIRTIO_MMIO_STATUS, kAck | 0x100);
  CHECK(h.r32(VIRTIO_MMIO_STATUS) == 0);
}

TEST_CASE("mmio transport: DRIVER_OK written twice activates once") {
  TransportHarness h;
  h.full_init();
  h.driver_ok();
  h.w32(VIRTIO_MMIO_STATUS, kAck | kDriver | kFeaturesOk | kDriverOk);
  CHECK(h.device->activations == 1);
}

TEST_CASE("mmio transport: FAILED is latched and blocks further progress until reset") {
  TransportHarness h;
  h.ack_driver();
  h.w32(VIRTIO_MMIO_STATUS, kAck | kDriver | kFailed);
  CHECK(h.r32(VIRTIO_MMIO_STATUS) == (kAck | kDriver | kFailed));
  h.set_driver_features(kVersion1);
  h.w32(VIRTIO_MMIO_STATUS, kAck | kDriver | kFailed | kFeaturesOk);
  CHECK(h.r32(VIRTIO_MMIO_STATUS) == (kAck | kDriver | kFailed));
  h.w32(VIRTIO_MMIO_STATUS, 0);
  CHECK(h.r32(VIRTIO_MMIO_STATUS) == 0);
}

TEST_CASE("mmio transport: register accesses that are not 4 bytes or not aligned are ignored") {
  TransportHarness h;
  uint8_t b[8];
  std::memset(b, 0xff, sizeof b);
  h.transport->read(VIRTIO_MMIO_MAGIC_VALUE, std::span(b, 1));
  CHECK(b[0] == 0);
  std::memset(b, 0xff, sizeof b);
  h.transport->read(VIRTIO_MMIO_MAGIC_VALUE, std::span(b, 2));
  CHECK((b[0] | b[1]) == 0);
  std::memset(b, 0xff, sizeof b);
  h.transport->read(VIRTIO_MMIO_MAGIC_VALUE, std::span(b, 8));
  for (uint8_t x : b) CHECK(x == 0);
  uint8_t ack[4] = {kAck, 0, 0, 0};
  h.transport->write(VIRTIO_MMIO_STATUS, std::span<const uint8_t>(ack, 1));
  h.transport->write(VIRTIO_MMIO_STATUS, std::span<const uint8_t>(ack, 2));
  h.transport->write(VIRTIO_MMIO_STATUS + 1, std::span<const uint8_t>(ack, 4));
  CHECK(h.r32(VIRTIO_MMIO_STATUS) == 0);
  CHECK(h.r32(VIRTIO_MMIO_MAGIC_VALUE + 2) == 0);
}

TEST_CASE(
    "mmio transport: undefined offsets read 0 and writes to read-only registers are ignored") {
  TransportHarness h;
  CHECK(h.r32(0x018) == 0);
  CHECK(h.r32(0x0f8) == 0);
  CHECK(h.r32(VIRTIO_MMIO_QUEUE_SEL) == 0);
  h.w32(VIRTIO_MMIO_MAGIC_VALUE, 0);
  h.w32(VIRTIO_MMIO_VERSION, 1);
  h.w32(VIRTIO_MMIO_DEVICE_FEATURES, 0);
  h.w32(VIRTIO_MMIO_QUEUE_NUM_MAX, 1);
  h.w32(VIRTIO_MMIO_INTERRUPT_STATUS, 3);
  h.w32(VIRTIO_MMIO_CONFIG_GENERATION, 5);
  h.w32(0x018, 1);
  CHECK(h.r32(VIRTIO_MMIO_MAGIC_VALUE) == 0x74726976);
  CHECK(h.r32(VIRTIO_MMIO_VERSION) == 2);
  CHECK(h.r32(VIRTIO_MMIO_DEVICE_FEATURES) == static_cast<uint32_t>(h.device->offered));
  CHECK(h.r32(VIRTIO_MMIO_QUEUE_NUM_MAX) == 256);
  CHECK(h.r32(VIRTIO_MMIO_CONFIG_GENERATION) == 0);
}

TEST_CASE("mmio transport: shared memory regions read as absent (-1)") {
  TransportHarness h;
  CHECK(h.r32(VIRTIO_MMIO_SHM_LEN_LOW) == 0xffff'ffff);
  CHECK(h.r32(VIRTIO_MMIO_SHM_LEN_HIGH) == 0xffff'ffff);
}

TEST_CASE("mmio transport: QueueSel beyond the queue count reads 0 and ignores writes") {
  TransportHarness h;
  h.w32(VIRTIO_MMIO_QUEUE_SEL, 1);
  CHECK(h.r32(VIRTIO_MMIO_QUEUE_NUM_MAX) == 128);
  h.w32(VIRTIO_MMIO_QUEUE_SEL, 2);
  CHECK(h.r32(VIRTIO_MMIO_QUEUE_NUM_MAX) == 0);
  h.w32(VIRTIO_MMIO_QUEUE_NUM, 8);
  h.w32(VIRTIO_MMIO_QUEUE_READY, 1);
  CHECK(h.r32(VIRTIO_MMIO_QUEUE_NUM) == 0);
  CHECK(h.r32(VIRTIO_MMIO_QUEUE_READY) == 0);
  h.w32(VIRTIO_MMIO_QUEUE_SEL, 0xffff'ffff);
  CHECK(h.r32(VIRTIO_MMIO_QUEUE_READY) == 0);
}

TEST_CASE("mmio transport: queue registers are frozen once DRIVER_OK is set") {
  TransportHarness h;
  h.full_init();
  h.w32(VIRTIO_MMIO_QUEUE_SEL, 0);
  h.w32(VIRTIO_MMIO_QUEUE_NUM, 4);
  h.w32(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x9000);
  h.w32(VIRTIO_MMIO_QUEUE_READY, 0);
  CHECK(h.r32(VIRTIO_MMIO_QUEUE_NUM) == 16);
  CHECK(h.r32(VIRTIO_MMIO_QUEUE_DESC_LOW) == h.q0.desc_table());
  CHECK(h.r32(VIRTIO_MMIO_QUEUE_READY) == 1);
}

TEST_CASE("mmio transport: queue addresses are assembled from low and high halves") {
  TransportHarness h;
  h.w32(VIRTIO_MMIO_QUEUE_SEL, 0);
  h.w64_pair(VIRTIO_MMIO_QUEUE_AVAIL_LOW, 0x1234'5678'9abc'def0);
  CHECK(h.r32(VIRTIO_MMIO_QUEUE_AVAIL_LOW) == 0x9abc'def0);
  CHECK(h.r32(VIRTIO_MMIO_QUEUE_AVAIL_HIGH) == 0x1234'5678);
}

TEST_CASE("mmio transport: an invalid queue at DRIVER_OK sets NEEDS_RESET and a config interrupt") {
  TransportHarness h;
  h.features_ok();
  h.setup_queue(0, h.q0);
  h.w32(VIRTIO_MMIO_QUEUE_NUM, 3);  // not a power of two
  h.driver_ok();
  CHECK(h.device->activations == 0);
  CHECK_FALSE(h.transport->activated());
  CHECK((h.r32(VIRTIO_MMIO_STATUS) & kNeedsReset) != 0);
  CHECK((h.r32(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG) != 0);
  CHECK(h.transport->irq_event().consume() >= 1);
}

TEST_CASE("mmio transport: a ring in a forbidden MMIO window fails activation") {
  TransportHarness h({{0x1000, 0x100}});
  h.full_init();
  CHECK(h.device->activations == 0);
  CHECK((h.r32(VIRTIO_MMIO_STATUS) & kNeedsReset) != 0);
}

TEST_CASE("mmio transport: a device activation error sets NEEDS_RESET and the VM can recover") {
  TransportHarness h;
  h.device->fail_activation = true;
  h.full_init();
  CHECK(h.device->activations == 1);
  CHECK_FALSE(h.transport->activated());
  CHECK(h.r32(VIRTIO_MMIO_STATUS) == (kAck | kDriver | kFeaturesOk | kDriverOk | kNeedsReset));
  CHECK(h.r32(VIRTIO_MMIO_INTERRUPT_STATUS) == VIRTIO_MMIO_INT_CONFIG);
  // The driver may echo NEEDS_RESET back while marking FAILED, then resets.
  h.w32(VIRTIO_MMIO_STATUS, h.r32(VIRTIO_MMIO_STATUS) | kFailed);
  CHECK((h.r32(VIRTIO_MMIO_STATUS) & kFailed) != 0);
  h.w32(VIRTIO_MMIO_STATUS, 0);
  CHECK(h.device->resets == 0);  // it never became active
  CHECK(h.r32(VIRTIO_MMIO_STATUS) == 0);
  h.device->fail_activation = false;
  h.full_init();
  CHECK(h.transport->activated());
}

TEST_CASE("mmio transport: writing 0 resets the device and all transport state") {
  TransportHarness h;
  h.full_init();
  h.w32(VIRTIO_MMIO_QUEUE_SEL, 1);
  h.w32(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
  h.transport->interrupt()->signal_used_queue();
  h.w32(VIRTIO_MMIO_STATUS, 0);
  CHECK(h.device->resets == 1);
  CHECK_FALSE(h.transport->activated());
  CHECK(h.r32(VIRTIO_MMIO_STATUS) == 0);
  CHECK(h.r32(VIRTIO_MMIO_INTERRUPT_STATUS) == 0);
  CHECK(h.r32(VIRTIO_MMIO_DEVICE_FEATURES) == static_cast<uint32_t>(h.device->offered));
  CHECK(h.r32(VIRTIO_MMIO_QUEUE_NUM_MAX) == 256);  // QueueSel back to 0
  CHECK(h.r32(VIRTIO_MMIO_QUEUE_READY) == 0);
  CHECK(h.r32(VIRTIO_MMIO_QUEUE_NUM) == 0);
  // And the device can be brought up again.
  h.full_init();
  CHECK(h.device->activations == 2);
}

TEST_CASE("mmio transport: QueueNotify is forwarded only while activated and in range") {
  TransportHarness h;
  h.w32(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
  CHECK(h.device->notifies.empty());
  h.full_init();
  h.w32(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
  h.w32(VIRTIO_MMIO_QUEUE_NOTIFY, 2);
  h.w32(VIRTIO_MMIO_QUEUE_NOTIFY, 0xffff'ffff);
  REQUIRE(h.device->notifies.size() == 1);
  CHECK(h.device->notifies[0] == 1);
  h.w32(VIRTIO_MMIO_STATUS, 0);
  h.w32(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
  CHECK(h.device->notifies.size() == 1);
}

TEST_CASE("mmio transport: InterruptACK clears the acknowledged bits") {
  TransportHarness h;
  h.transport->interrupt()->signal_used_queue();
  h.transport->interrupt()->signal_config_change();
  CHECK(h.r32(VIRTIO_MMIO_INTERRUPT_STATUS) == (VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG));
  h.w32(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
  CHECK(h.r32(VIRTIO_MMIO_INTERRUPT_STATUS) == VIRTIO_MMIO_INT_CONFIG);
  CHECK(h.r32(VIRTIO_MMIO_CONFIG_GENERATION) == 1);
}

TEST_CASE("mmio transport: config space reads are forwarded with 1, 2, 4 and 8 byte widths") {
  TransportHarness h;
  uint8_t b[8] = {};
  h.transport->read(0x100 + 3, std::span(b, 1));
  CHECK(b[0] == 0xa3);
  h.transport->read(0x100 + 2, std::span(b, 2));
  CHECK(b[1] == 0xa3);
  CHECK(h.r32(0x100 + 4) == 0xa7a6a5a4);
  h.transport->read(0x100 + 8, std::span(b, 8));
  CHECK(b[7] == 0xaf);
}

TEST_CASE("mmio transport: config reads beyond the config size or unaligned return 0") {
  TransportHarness h;
  CHECK(h.r32(0x100 + 24) == 0);
  CHECK(h.r32(0x100 + 22) == 0);  // unaligned
  CHECK(h.r32(0x1fc) == 0);
  uint8_t b[8];
  std::memset(b, 0xff, sizeof b);
  h.transport->read(0x100 + 20, std::span(b, 8));  // crosses the end
  for (uint8_t x : b) CHECK(x == 0);
}

TEST_CASE("mmio transport: config writes inside are forwarded, beyond or unaligned are ignored") {
  TransportHarness h;
  h.w32(0x100 + 4, 0x11223344);
  CHECK(h.device->config[4] == 0x44);
  auto before = h.device->config;
  h.w32(0x100 + 24, 0);
  h.w32(0x100 + 21, 0);
  uint8_t b[8] = {};
  h.transport->write(0x100 + 20, std::span<const uint8_t>(b, 8));
  CHECK(h.device->config == before);
}

TEST_CASE("mmio transport: create rejects a device without VERSION_1 or mismatched eventfds") {
  GuestMemory mem = make_test_memory();
  boost::asio::io_context io;
  auto dev = std::make_shared<FakeVirtioDevice>();
  dev->offered = kEventIdx;
  auto events = [](size_t n) {
    std::vector<EventFd> v;
    for (size_t i = 0; i < n; ++i) v.push_back(EventFd::create(EFD_NONBLOCK).value());
    return v;
  };
  auto irq = [] { return EventFd::create(EFD_NONBLOCK).value(); };
  CHECK_FALSE(MmioTransport::create({dev, &mem, &io, {}}, events(2), irq()).has_value());
  dev->offered = kVersion1;
  CHECK_FALSE(MmioTransport::create({dev, &mem, &io, {}}, events(1), irq()).has_value());
  CHECK(MmioTransport::create({dev, &mem, &io, {}}, events(2), irq()).has_value());
}

TEST_CASE("mmio transport: reset during activity stops the worker; the used ring is then quiet") {
  TransportHarness h;
  h.device->run_worker = true;
  h.full_init();
  std::atomic<bool> stop{false};
  // The driver keeps republishing heads as the device completes them.
  std::thread driver([&] {
    uint16_t next_used_seen = 0;
    for (uint16_t i = 0; i < 16; ++i) h.q0.publish(h.q0.add_chain({{kBuf, 8, true}}));
    while (!stop.load()) {
      uint16_t used = h.q0.used_idx();
      while (next_used_seen != used) {
        h.q0.publish(static_cast<uint16_t>(h.q0.used_elem(next_used_seen).id));
        ++next_used_seen;
      }
      std::this_thread::yield();
    }
  });
  while (h.device->completed.load() < 1000) std::this_thread::yield();
  h.w32(VIRTIO_MMIO_STATUS, 0);
  uint16_t used_after_reset = h.q0.used_idx();
  uint64_t completed_after_reset = h.device->completed.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  stop = true;
  driver.join();
  CHECK(h.device->resets == 1);
  CHECK(h.q0.used_idx() == used_after_reset);
  CHECK(h.device->completed.load() == completed_after_reset);
}

TEST_CASE("mmio transport: 10,000 reset and re-initialise cycles leak no fd or thread") {
  TransportHarness h;
  h.device->run_worker = true;
  h.device->watch_events = true;
  // One warm-up cycle: the io_context creates its reactor descriptors lazily, once.
  h.full_init();
  h.w32(VIRTIO_MMIO_STATUS, 0);
  h.io.poll();
  size_t fds = open_fd_count();
  size_t threads = thread_count();
  for (int i = 0; i < 10'000; ++i) {
    h.full_init();
    REQUIRE(h.transport->activated());
    h.w32(VIRTIO_MMIO_STATUS, 0);
    h.io.poll();
  }
  CHECK(h.device->activations == 10'001);
  CHECK(h.device->resets == 10'001);
  CHECK(open_fd_count() == fds);
  CHECK(thread_count_settles_to(threads));
}

TEST_CASE("mmio transport: destroying an active transport resets the device") {
  TransportHarness h;
  h.full_init();
  h.transport.reset();
  CHECK(h.device->resets == 1);
}

}  // namespace
}  // namespace minivmm::virtio::test

namespace minivmm::virtio::test {
namespace {

TEST_CASE("mmio transport: reset_device() stops an active device once and clears Status") {
  TransportHarness h;
  h.full_init();
  REQUIRE(h.transport->activated());
  h.transport->reset_device();
  CHECK(h.device->resets == 1);
  CHECK_FALSE(h.transport->activated());
  CHECK(h.r32(VIRTIO_MMIO_STATUS) == 0);
  h.transport->reset_device();  // idle: the device is not reset again
  CHECK(h.device->resets == 1);
}

}  // namespace
}  // namespace minivmm::virtio::test
