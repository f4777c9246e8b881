// Unit tests of BlockDevice: offered features, the configuration space (values, reads past the
// structure, ignored writes), option validation, and the queue handler end to end: chains laid
// out with MockSplitQueue, kicks through the queue eventfd, the handlers run on a local
// io_context, and assertions on the used ring, status bytes, the image and the interrupt count.
// Also covers flow control when the disk is shallower than the ring, malformed chains, a broken
// ring (DEVICE_NEEDS_RESET), reset with requests in flight, and backing-file changes: a swap
// before activation, a swap with requests in flight (they finish on the old file, later ones go
// to the new one, capacity and ConfigGeneration change, counters continue) and the read-only
// flag before activation.
#include "devices/block/block_device.hpp"

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <sys/eventfd.h>

#include <linux/virtio_mmio.h>

#include <chrono>
#include <functional>
#include <optional>

#include <doctest/doctest.h>

#include "block_test_support.hpp"
#include "devices/virtio/ring_abi.hpp"
#include "tests/support/mock_split_queue.hpp"

namespace minivmm::block {
namespace {

TEST_SUITE_BEGIN("block/device");

using test::TempImage;
using virtio::test::Buf;
using virtio::test::MockSplitQueue;

constexpr uint64_t bit(unsigned b) {
  return 1ULL << b;
}

std::shared_ptr<BlockDevice> make_device(const std::string& path, DiskOptions o = {},
                                         BlockDeviceOptions d = {}) {
  auto disk = DiskFile::open(path, o);
  REQUIRE_MESSAGE(disk.has_value(), (disk ? std::string() : disk.error().message()));
  auto dev = BlockDevice::create(std::move(*disk), d);
  REQUIRE_MESSAGE(dev.has_value(), (dev ? std::string() : dev.error().message()));
  return *dev;
}

TEST_CASE("a read-write disk offers flush, discard and write-zeroes but not RO") {
  TempImage img(1 << 20);
  auto dev = make_device(img.path);
  uint64_t f = dev->features();
  CHECK(dev->device_type() == VIRTIO_ID_BLOCK);
  for (unsigned b : {VIRTIO_F_VERSION_1, VIRTIO_RING_F_EVENT_IDX, VIRTIO_RING_F_INDIRECT_DESC,
                     VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_F_BLK_SIZE, VIRTIO_BLK_F_FLUSH,
                     VIRTIO_BLK_F_TOPOLOGY, VIRTIO_BLK_F_DISCARD, VIRTIO_BLK_F_WRITE_ZEROES}) {
    CAPTURE(b);
    CHECK((f & bit(b)) != 0);
  }
  for (unsigned b : {VIRTIO_BLK_F_RO, VIRTIO_BLK_F_SCSI, VIRTIO_BLK_F_CONFIG_WCE, VIRTIO_BLK_F_MQ,
                     VIRTIO_BLK_F_SIZE_MAX}) {
    CAPTURE(b);
    CHECK((f & bit(b)) == 0);
  }
}

TEST_CASE("a read-only disk offers RO and no discard or write-zeroes") {
  TempImage img(1 << 20);
  DiskOptions o;
  o.access = DiskAccess::read_only;
  auto dev = make_device(img.path, o);
  CHECK((dev->features() & bit(VIRTIO_BLK_F_RO)) != 0);
  CHECK((dev->features() & bit(VIRTIO_BLK_F_DISCARD)) == 0);
  CHECK((dev->features() & bit(VIRTIO_BLK_F_WRITE_ZEROES)) == 0);
  CHECK(dev->limits(~0ULL).read_only);
}

TEST_CASE("config space holds capacity, limits and topology at the spec's offsets") {
  TempImage img(3 << 20);
  auto dev = make_device(img.path);
  CHECK(dev->config_size() == 60);
  std::vector<uint8_t> cfg(60);
  dev->read_config(0, cfg);
  auto u32 = [&](size_t off) {
    uint32_t v;
    std::memcpy(&v, cfg.data() + off, 4);
    return v;
  };
  uint64_t cap;
  std::memcpy(&cap, cfg.data(), 8);
  CHECK(cap == 6144);
  CHECK(u32(12) == 254);  // seg_max
  CHECK(u32(20) == 512);  // blk_size
  CHECK(cfg[34] == 1);    // num_queues
  CHECK(u32(36) == dev->config().max_discard_sectors);
  CHECK(u32(40) == 32);  // max_discard_seg
  CHECK(u32(44) == 8);   // discard_sector_alignment
  CHECK(u32(52) == 32);  // max_write_zeroes_seg
  CHECK(cfg[32] == 0);   // writeback: no CONFIG_WCE
}

TEST_CASE("config reads past the structure are zero and partial reads are clipped") {
  TempImage img(1 << 20);
  auto dev = make_device(img.path);
  std::vector<uint8_t> tail(16, 0xff);
  dev->read_config(56, tail);
  CHECK(std::all_of(tail.begin(), tail.end(), [](uint8_t b) { return b == 0; }));
  std::vector<uint8_t> far(4, 0xff);
  dev->read_config(1000, far);
  CHECK(far == std::vector<uint8_t>(4, 0));
  std::vector<uint8_t> cap_hi(2);
  dev->read_config(0, cap_hi);
  CHECK(cap_hi[1] == 8);  // 2048 sectors = 0x800
}

TEST_CASE("config writes are ignored") {
  TempImage img(1 << 20);
  auto dev = make_device(img.path);
  std::vector<uint8_t> junk(60, 0xaa);
  dev->write_config(0, junk);
  std::vector<uint8_t> cfg(8);
  dev->read_config(0, cfg);
  CHECK(cfg[1] == 8);
  CHECK(dev->config().writeback == 0);
}

TEST_CASE("create refuses queue sizes that are not a power of two above 2") {
  TempImage img(4096);
  for (uint16_t q : {uint16_t{0}, uint16_t{2}, uint16_t{100}}) {
    auto disk = DiskFile::open(img.path, {});
    REQUIRE(disk.has_value());
    BlockDeviceOptions o;
    o.queue_size = q;
    CHECK_FALSE(BlockDevice::create(std::move(*disk), o).has_value());
  }
}

/// A device activated on a MockSplitQueue, with its handlers on a local io_context.
struct Running {
  static constexpr uint64_t kRings = 0x1000;
  explicit Running(std::shared_ptr<BlockDevice> d, uint16_t size = 16)
      : mem(test::make_memory()), driver(mem, size, kRings), dev(std::move(d)) {
    auto e = EventFd::create(EFD_NONBLOCK);
    REQUIRE(e.has_value());
    kicks.push_back(std::move(*e));
    auto irq = EventFd::create(EFD_NONBLOCK);
    REQUIRE(irq.has_value());
    interrupt = std::make_shared<virtio::VirtioInterrupt>(std::move(*irq));
    uint64_t features = dev->features();
    std::vector<virtio::SplitQueue> queues;
    queues.push_back(driver.make_queue(features, 256));
    virtio::Activation a{mem, std::move(queues), kicks, features, interrupt, io};
    REQUIRE(dev->activate(std::move(a)).has_value());
  }
  ~Running() { dev->reset(); }
  void kick() { kicks[0].signal(); }
  /// Runs the loop until `pred` holds (5 s at most).
  bool pump(const std::function<bool()>& pred) {
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!pred() && std::chrono::steady_clock::now() < end) {
      io.restart();
      io.run_for(std::chrono::milliseconds(2));
    }
    return pred();
  }
  uint16_t out_request(uint64_t base, uint64_t sector, uint8_t fill) {
    REQUIRE(mem.write(base, test::ChainBuilder::header_bytes(VIRTIO_BLK_T_OUT, sector)));
    REQUIRE(mem.write(base + 16, std::vector<uint8_t>(512, fill)));
    REQUIRE(mem.write_obj<uint8_t>(base + 528, 0xff));
    return driver.add_chain({{base, 16, false}, {base + 16, 512, false}, {base + 528, 1, true}});
  }

  boost::asio::io_context io;
  GuestMemory mem;
  MockSplitQueue driver;
  std::vector<EventFd> kicks;
  std::shared_ptr<virtio::VirtioInterrupt> interrupt;
  std::shared_ptr<BlockDevice> dev;
};

TEST_CASE("a kicked write and read complete on the used ring with an interrupt") {
  TempImage img(1 << 20);
  Running r(make_device(img.path));
  uint16_t w = r.out_request(0x10000, 5, 0x3c);
  r.driver.publish(w);
  r.kick();
  REQUIRE(r.pump([&] { return r.driver.used_idx() == 1; }));
  CHECK(r.driver.used_elem(0).id == w);
  CHECK(r.driver.used_elem(0).len == 1);
  CHECK(*r.mem.read_obj<uint8_t>(0x10000 + 528) == VIRTIO_BLK_S_OK);
  CHECK(img.read(5 * 512, 512) == std::vector<uint8_t>(512, 0x3c));
  CHECK(r.interrupt->signal_count() >= 1);

  REQUIRE(r.mem.write(0x20000, test::ChainBuilder::header_bytes(VIRTIO_BLK_T_IN, 5)));
  uint16_t rd =
      r.driver.add_chain({{0x20000, 16, false}, {0x20010, 512, true}, {0x20210, 1, true}});
  r.driver.publish(rd);
  r.dev->notify(0);
  REQUIRE(r.pump([&] { return r.driver.used_idx() == 2; }));
  CHECK(r.driver.used_elem(1).len == 513);
  CHECK(*r.mem.read_obj<uint8_t>(0x20010 + 511) == 0x3c);
}

TEST_CASE("a ring fuller than the disk's depth is flow-controlled and fully completed") {
  TempImage img(1 << 20);
  DiskOptions o;
  o.depth = 2;
  Running r(make_device(img.path, o, {}), 64);
  // 20 chains of 3 descriptors fill 60 of the 64 table entries; the disk takes 2 at a time.
  for (uint16_t i = 0; i < 20; ++i)
    r.driver.publish(r.out_request(0x10000 + i * 0x400u, i, uint8_t(i)));
  r.kick();
  REQUIRE(r.pump([&] { return r.driver.used_idx() == 20; }));
  for (uint16_t i = 0; i < 20; ++i) {
    CHECK(*r.mem.read_obj<uint8_t>(0x10000 + i * 0x400u + 528) == VIRTIO_BLK_S_OK);
  }
  CHECK(img.read(19 * 512, 1) == std::vector<uint8_t>{19});
}

TEST_CASE("a chain with a buffer outside RAM is returned with used length 0") {
  TempImage img(1 << 20);
  Running r(make_device(img.path));
  uint16_t h =
      r.driver.add_chain({{0x10000, 16, false}, {~0ULL - 8, 512, true}, {0x10300, 1, true}});
  r.driver.publish(h);
  r.kick();
  REQUIRE(r.pump([&] { return r.driver.used_idx() == 1; }));
  CHECK(r.driver.used_elem(0).id == h);
  CHECK(r.driver.used_elem(0).len == 0);
}

TEST_CASE("avail.idx running ahead of the ring size sets DEVICE_NEEDS_RESET") {
  TempImage img(1 << 20);
  Running r(make_device(img.path));
  r.driver.set_avail_idx(1000);
  r.kick();
  REQUIRE(r.pump([&] { return r.interrupt->needs_reset(); }));
  CHECK(r.driver.used_idx() == 0);
}

TEST_CASE("reset with requests in flight stops all used-ring writes") {
  TempImage img(4 << 20);
  auto r = std::make_unique<Running>(make_device(img.path), 64);
  for (uint16_t i = 0; i < 20; ++i) r->driver.publish(r->out_request(0x10000 + i * 0x400u, i, 1));
  r->kick();
  r->io.restart();
  r->io.run_one();  // the initial process_queue or the kick: requests are now in flight
  r->dev->reset();
  uint16_t used = r->driver.used_idx();
  r->io.restart();
  r->io.run_for(std::chrono::milliseconds(20));
  CHECK(r->driver.used_idx() == used);
  CHECK(r->dev->counters().requests >= 1);
}

TEST_CASE("counters continue across a driver reset and a new activation") {
  TempImage img(1 << 20);
  auto dev = make_device(img.path);
  {
    Running r(dev);
    r.driver.publish(r.out_request(0x10000, 1, 7));
    r.kick();
    REQUIRE(r.pump([&] { return r.driver.used_idx() == 1; }));
  }  // ~Running resets the device
  CHECK(dev->counters().requests == 1);
  Running again(dev);
  again.driver.publish(again.out_request(0x10000, 2, 8));
  again.kick();
  REQUIRE(again.pump([&] { return again.driver.used_idx() == 1; }));
  CHECK(dev->counters().requests == 2);
  CHECK(dev->counters().bytes_written == 1024);
}

TEST_CASE("replace_disk before activation swaps at once and updates capacity") {
  TempImage a(1 << 20), b(3 << 20);
  auto dev = make_device(a.path);
  dev->set_path(a.path);
  std::optional<bool> done;
  auto disk = DiskFile::open(b.path, {});
  REQUIRE(disk.has_value());
  dev->replace_disk(std::move(*disk), b.path, [&](bool ok) { done = ok; });
  CHECK(done == std::optional<bool>(true));
  CHECK(dev->config().capacity == (3 << 20) / 512);
  CHECK(dev->capacity_sectors() == (3 << 20) / 512);
  CHECK(dev->path() == b.path);
  CHECK(dev->backing_swaps() == 1);
}

TEST_CASE(
    "replace_disk with requests in flight finishes them on the old file, the rest on the new") {
  TempImage a(1 << 20), b(2 << 20);
  DiskOptions o;
  o.depth = 2;
  Running r(make_device(a.path, o, {}), 64);
  const uint32_t generation = r.interrupt->config_generation();
  for (uint16_t i = 0; i < 20; ++i)
    r.driver.publish(r.out_request(0x10000 + i * 0x400u, i, uint8_t(i + 1)));
  r.kick();
  r.io.restart();
  r.io.run_one();  // the disk now holds requests in flight
  auto disk = DiskFile::open(b.path, o);
  REQUIRE(disk.has_value());
  std::optional<bool> done;
  r.dev->replace_disk(std::move(*disk), b.path, [&](bool ok) { done = ok; });
  REQUIRE(r.pump([&] { return done.has_value() && r.driver.used_idx() == 20; }));
  CHECK(*done);
  for (uint16_t i = 0; i < 20; ++i)
    CHECK(*r.mem.read_obj<uint8_t>(0x10000 + i * 0x400u + 528) == VIRTIO_BLK_S_OK);
  // The first request was in flight before the swap; the last was popped after it.
  CHECK(a.read(0, 1) == std::vector<uint8_t>{1});
  CHECK(b.read(0, 1) == std::vector<uint8_t>{0});
  CHECK(b.read(19 * 512, 1) == std::vector<uint8_t>{20});
  CHECK(a.read(19 * 512, 1) == std::vector<uint8_t>{0});
  CHECK(r.dev->config().capacity == (2 << 20) / 512);
  CHECK(r.interrupt->config_generation() == generation + 1);
  CHECK((r.interrupt->status() & VIRTIO_MMIO_INT_CONFIG) != 0);
  CHECK(r.dev->counters().requests == 20);
  CHECK(r.dev->backing_swaps() == 1);
}

TEST_CASE("after replace_disk a request beyond the old capacity reaches the new file") {
  TempImage a(1 << 20), b(2 << 20);
  Running r(make_device(a.path));
  auto disk = DiskFile::open(b.path, {});
  REQUIRE(disk.has_value());
  std::optional<bool> done;
  r.dev->replace_disk(std::move(*disk), b.path, [&](bool ok) { done = ok; });
  REQUIRE(r.pump([&] { return done.has_value(); }));
  const uint64_t sector = (1 << 20) / 512 + 7;  // past the end of the old file
  r.driver.publish(r.out_request(0x10000, sector, 0x5a));
  r.kick();
  REQUIRE(r.pump([&] { return r.driver.used_idx() == 1; }));
  CHECK(*r.mem.read_obj<uint8_t>(0x10000 + 528) == VIRTIO_BLK_S_OK);
  CHECK(b.read(sector * 512, 1) == std::vector<uint8_t>{0x5a});
}

TEST_CASE("set_disk changes the read-only feature before activation and is refused after") {
  TempImage img(1 << 20);
  auto dev = make_device(img.path);
  CHECK((dev->features() & bit(VIRTIO_BLK_F_RO)) == 0);
  DiskOptions ro;
  ro.access = DiskAccess::read_only;
  auto disk = DiskFile::open(img.path, ro);
  REQUIRE(disk.has_value());
  REQUIRE(dev->set_disk(std::move(*disk), img.path).has_value());
  CHECK((dev->features() & bit(VIRTIO_BLK_F_RO)) != 0);
  CHECK((dev->features() & bit(VIRTIO_BLK_F_DISCARD)) == 0);
  CHECK(dev->read_only());
  {
    Running r(dev);
    auto rw = DiskFile::open(img.path, {});
    REQUIRE(rw.has_value());
    auto refused = dev->set_disk(std::move(*rw), img.path);
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().code() == ErrorCode::invalid_state);
  }
  CHECK(dev->read_only());
}

TEST_SUITE_END();

}  // namespace
}  // namespace minivmm::block
