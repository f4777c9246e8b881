// Unit tests of Bus: insert() refuses empty, wrapping and overlapping windows (on either side)
// but allows exactly adjacent ones; read/write dispatch to the owning device with the offset
// relative to its base, refuse accesses that straddle a window's end or hit no device, and keep
// working with many devices inserted in any order.
#include "vmm/bus/bus.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>

namespace minivmm {
namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

// Records every access; reads return `tag` in every byte.
class RecordingDevice : public BusDevice {
 public:
  explicit RecordingDevice(uint8_t tag = 0) : m_tag(tag) {}
  struct Access {
    bool write;
    uint64_t offset;
    std::vector<uint8_t> data;
  };
  void read(uint64_t offset, std::span<uint8_t> data) override {
    std::fill(data.begin(), data.end(), m_tag);
    accesses.push_back({false, offset, {}});
  }
  void write(uint64_t offset, std::span<const uint8_t> data) override {
    accesses.push_back({true, offset, {data.begin(), data.end()}});
  }
  std::vector<Access> accesses;

 private:
  uint8_t m_tag;
};

void check_refused(const Result<void>& r, const char* name) {
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == ErrorCode::invalid_config);
  CHECK(r.error().message().find(name) != std::string::npos);
}

TEST_CASE("insert refuses a zero-length window") {
  Bus bus;
  check_refused(bus.insert(std::make_shared<RecordingDevice>(), 0x1000, 0, "zero"), "zero");
}

TEST_CASE("insert refuses a window that wraps past 2^64") {
  Bus bus;
  check_refused(bus.insert(std::make_shared<RecordingDevice>(), kMax - 3, 8, "wrap"), "wrap");
  check_refused(bus.insert(std::make_shared<RecordingDevice>(), 1, kMax, "wrap2"), "wrap2");
}

TEST_CASE("insert accepts a window ending exactly at 2^64 - 1") {
  Bus bus;
  CHECK(bus.insert(std::make_shared<RecordingDevice>(), kMax - 7, 7, "top").has_value());
}

TEST_CASE("insert refuses a window overlapping the start of an existing one") {
  Bus bus;
  REQUIRE(bus.insert(std::make_shared<RecordingDevice>(), 0x100, 0x10, "a").has_value());
  check_refused(bus.insert(std::make_shared<RecordingDevice>(), 0xf8, 0x10, "b"), "b");
}

TEST_CASE("insert refuses a window overlapping the end of an existing one") {
  Bus bus;
  REQUIRE(bus.insert(std::make_shared<RecordingDevice>(), 0x100, 0x10, "a").has_value());
  check_refused(bus.insert(std::make_shared<RecordingDevice>(), 0x10f, 0x10, "b"), "b");
}

TEST_CASE("insert refuses a window with the same base as an existing one") {
  Bus bus;
  REQUIRE(bus.insert(std::make_shared<RecordingDevice>(), 0x100, 0x10, "a").has_value());
  check_refused(bus.insert(std::make_shared<RecordingDevice>(), 0x100, 1, "b"), "b");
}

TEST_CASE("insert refuses a window enclosing or inside an existing one") {
  Bus bus;
  REQUIRE(bus.insert(std::make_shared<RecordingDevice>(), 0x100, 0x10, "a").has_value());
  check_refused(bus.insert(std::make_shared<RecordingDevice>(), 0x80, 0x100, "outer"), "outer");
  check_refused(bus.insert(std::make_shared<RecordingDevice>(), 0x104, 4, "inner"), "inner");
}

TEST_CASE("an overlap error names the existing device") {
  Bus bus;
  REQUIRE(bus.insert(std::make_shared<RecordingDevice>(), 0x100, 0x10, "serial").has_value());
  auto r = bus.insert(std::make_shared<RecordingDevice>(), 0x108, 0x10, "rtc");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message().find("serial") != std::string::npos);
}

TEST_CASE("insert accepts windows exactly adjacent on both sides") {
  Bus bus;
  REQUIRE(bus.insert(std::make_shared<RecordingDevice>(), 0x100, 0x10, "mid").has_value());
  CHECK(bus.insert(std::make_shared<RecordingDevice>(), 0x110, 0x10, "after").has_value());
  CHECK(bus.insert(std::make_shared<RecordingDevice>(), 0xf0, 0x10, "before").has_value());
}

TEST_CASE("a refused insert leaves the bus unchanged") {
  Bus bus;
  auto a = std::make_shared<RecordingDevice>(1);
  REQUIRE(bus.insert(a, 0x100, 0x10, "a").has_value());
  REQUIRE_FALSE(bus.insert(std::make_shared<RecordingDevice>(2), 0x108, 0x10, "b").has_value());
  std::array<uint8_t, 1> d{};
  REQUIRE(bus.read(0x10f, d));
  CHECK(d[0] == 1);
  CHECK_FALSE(bus.read(0x110, d));
}

TEST_CASE("read dispatches with the offset relative to the window base") {
  Bus bus;
  auto dev = std::make_shared<RecordingDevice>(0x5a);
  REQUIRE(bus.insert(dev, 0x3f8, 8, "com1").has_value());
  std::array<uint8_t, 2> d{};
  REQUIRE(bus.read(0x3fd, d));
  CHECK(d == std::array<uint8_t, 2>{0x5a, 0x5a});
  REQUIRE(dev->accesses.size() == 1);
  CHECK_FALSE(dev->accesses[0].write);
  CHECK(dev->accesses[0].offset == 5);
}

TEST_CASE("write dispatches the exact bytes with the relative offset") {
  Bus bus;
  auto dev = std::make_shared<RecordingDevice>();
  REQUIRE(bus.insert(dev, 0xd000'0000, 0x200, "virtio").has_value());
  const std::array<uint8_t, 4> in{1, 2, 3, 4};
  REQUIRE(bus.write(0xd000'0070, in));
  REQUIRE(dev->accesses.size() == 1);
  CHECK(dev->accesses[0].write);
  CHECK(dev->accesses[0].offset == 0x70);
  CHECK(dev->accesses[0].data == std::vector<uint8_t>{1, 2, 3, 4});
}

TEST_CASE("an access filling the last bytes of a window is dispatched") {
  Bus bus;
  auto dev = std::make_shared<RecordingDevice>();
  REQUIRE(bus.insert(dev, 0x1000, 0x10, "d").has_value());
  std::array<uint8_t, 8> d{};
  CHECK(bus.read(0x1008, d));
  CHECK(bus.write(0x1000, std::span<const uint8_t>(d)));
  CHECK(dev->accesses.size() == 2);
}

TEST_CASE("an access straddling the end of a window is refused and not dispatched") {
  Bus bus;
  auto dev = std::make_shared<RecordingDevice>();
  REQUIRE(bus.insert(dev, 0x1000, 0x10, "d").has_value());
  std::array<uint8_t, 8> d{};
  CHECK_FALSE(bus.read(0x100c, d));
  CHECK_FALSE(bus.write(0x100f, std::span<const uint8_t>(d)));
  CHECK(dev->accesses.empty());
}

TEST_CASE("an access straddling two adjacent windows is refused") {
  Bus bus;
  auto a = std::make_shared<RecordingDevice>();
  auto b = std::make_shared<RecordingDevice>();
  REQUIRE(bus.insert(a, 0x1000, 0x10, "a").has_value());
  REQUIRE(bus.insert(b, 0x1010, 0x10, "b").has_value());
  std::array<uint8_t, 4> d{};
  CHECK_FALSE(bus.read(0x100e, d));
  CHECK_FALSE(bus.write(0x100e, std::span<const uint8_t>(d)));
  CHECK(a->accesses.empty());
  CHECK(b->accesses.empty());
}

TEST_CASE("an access to an unassigned address returns false") {
  Bus bus;
  std::array<uint8_t, 4> d{};
  CHECK_FALSE(bus.read(0x60, d));
  auto dev = std::make_shared<RecordingDevice>();
  REQUIRE(bus.insert(dev, 0x1000, 0x10, "d").has_value());
  CHECK_FALSE(bus.read(0xfff, std::span<uint8_t>(d).first(1)));
  CHECK_FALSE(bus.read(0x1010, d));
  CHECK_FALSE(bus.write(0, std::span<const uint8_t>(d)));
  CHECK_FALSE(bus.read(kMax, std::span<uint8_t>(d).first(1)));
  CHECK(dev->accesses.empty());
}

TEST_CASE("an access near 2^64 with a size that would wrap is refused") {
  Bus bus;
  auto dev = std::make_shared<RecordingDevice>();
  // [2^64 - 16, 2^64 - 1): the highest window whose end is representable.
  REQUIRE(bus.insert(dev, kMax - 0xf, 0xf, "top").has_value());
  std::array<uint8_t, 8> d{};
  CHECK_FALSE(bus.read(kMax - 3, d));
  CHECK_FALSE(bus.write(kMax, std::span<const uint8_t>(d)));
  CHECK(bus.read(kMax - 8, d));
  REQUIRE(dev->accesses.size() == 1);
  CHECK(dev->accesses[0].offset == 7);
}

TEST_CASE("many devices inserted out of order each receive only their own accesses") {
  Bus bus;
  constexpr int kDevices = 64;
  std::vector<std::shared_ptr<RecordingDevice>> devs;
  for (int i = 0; i < kDevices; ++i) devs.push_back(std::make_shared<RecordingDevice>());
  // Insert in a scrambled order: 0, 37, 10, 47, ... (37 is coprime with 64).
  for (int k = 0; k < kDevices; ++k) {
    int i = (k * 37) % kDevices;
    REQUIRE(bus.insert(devs[static_cast<size_t>(i)], 0x10000 + static_cast<uint64_t>(i) * 0x100,
                       0x100, "dev" + std::to_string(i))
                .has_value());
  }
  for (int i = 0; i < kDevices; ++i) {
    const std::array<uint8_t, 1> v{static_cast<uint8_t>(i)};
    REQUIRE(bus.write(0x10000 + static_cast<uint64_t>(i) * 0x100 + 0xff, v));
  }
  for (int i = 0; i < kDevices; ++i) {
    const auto& acc = devs[static_cast<size_t>(i)]->accesses;
    REQUIRE(acc.size() == 1);
    CHECK(acc[0].offset == 0xff);
    CHECK(acc[0].data == std::vector<uint8_t>{static_cast<uint8_t>(i)});
  }
  std::array<uint8_t, 1> d{};
  CHECK_FALSE(bus.read(0x10000 + kDevices * 0x100, d));
}

}  // namespace
}  // namespace minivmm
