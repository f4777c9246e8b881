// Unit tests of the i8042 controller: the reset pulse and the answers Linux's i8042 probe waits
// for, plus hostile port accesses.
#include "devices/legacy/i8042.hpp"

#include <vector>

#include <doctest/doctest.h>

namespace minivmm {
namespace {

constexpr uint8_t kStatusOutputFull = 0x01;
constexpr uint8_t kStatusAuxData = 0x20;

struct I8042Harness {
  int resets = 0;
  I8042 controller{[this] { ++resets; }};

  uint8_t in(uint64_t offset) {
    uint8_t value = 0;
    controller.read(offset, std::span<uint8_t>(&value, 1));
    return value;
  }
  void out(uint64_t offset, uint8_t value) {
    controller.write(offset, std::span<const uint8_t>(&value, 1));
  }
  void command(uint8_t value) { out(kI8042CommandOffset, value); }
  uint8_t status() { return in(kI8042CommandOffset); }
  uint8_t data() { return in(kI8042DataOffset); }
};

TEST_CASE("i8042: command 0xfe pulses the reset line and calls on_reset") {
  I8042Harness h;
  h.command(0xfe);
  CHECK(h.resets == 1);
  CHECK(h.controller.reset_requests() == 1);
}

TEST_CASE("i8042: writing the output port with the reset bit low resets") {
  I8042Harness h;
  h.command(0xd1);
  h.out(kI8042DataOffset, 0xdf);  // A20 on, reset line high: no reset
  CHECK(h.resets == 0);
  h.command(0xd1);
  h.out(kI8042DataOffset, 0xde);
  CHECK(h.resets == 1);
}

TEST_CASE("i8042: pulse commands that leave the reset bit alone do not reset") {
  I8042Harness h;
  h.command(0xff);
  h.command(0xf1);
  CHECK(h.resets == 0);
}

TEST_CASE("i8042: controller self-test answers 0x55 through the output buffer") {
  I8042Harness h;
  CHECK((h.status() & kStatusOutputFull) == 0);
  h.command(0xaa);
  CHECK((h.status() & kStatusOutputFull) != 0);
  CHECK(h.data() == 0x55);
  CHECK((h.status() & kStatusOutputFull) == 0);
}

TEST_CASE("i8042: keyboard interface test answers 0x00") {
  I8042Harness h;
  h.command(0xab);
  CHECK(h.data() == 0x00);
}

TEST_CASE("i8042: the command byte reads back what was written") {
  I8042Harness h;
  h.command(0x20);
  const uint8_t initial = h.data();
  CHECK(initial == 0x45);
  h.command(0x60);
  h.out(kI8042DataOffset, 0x61);
  h.command(0x20);
  CHECK(h.data() == 0x61);
}

TEST_CASE("i8042: keyboard and AUX disable commands show in the command byte") {
  I8042Harness h;
  h.command(0xad);
  h.command(0xa7);
  h.command(0x20);
  CHECK((h.data() & 0x30) == 0x30);
  h.command(0xae);
  h.command(0xa8);
  h.command(0x20);
  CHECK((h.data() & 0x30) == 0x00);
}

TEST_CASE("i8042: the AUX loop and test report no mouse port at once") {
  I8042Harness h;
  h.command(0xd3);
  h.out(kI8042DataOffset, 0x5a);
  CHECK((h.status() & (kStatusOutputFull | kStatusAuxData)) ==
        (kStatusOutputFull | kStatusAuxData));
  CHECK(h.data() != 0x5a);
  h.command(0xa9);
  const uint8_t result = h.data();
  CHECK(result != 0x00);
  CHECK(result != 0xfa);
  CHECK(result != 0xff);
}

TEST_CASE("i8042: the keyboard loop echoes the byte as keyboard data") {
  I8042Harness h;
  h.command(0xd2);
  h.out(kI8042DataOffset, 0x33);
  CHECK((h.status() & kStatusAuxData) == 0);
  CHECK(h.data() == 0x33);
}

TEST_CASE("i8042: unknown commands and keyboard bytes are accepted harmlessly") {
  I8042Harness h;
  for (int command = 0; command < 0xf0; ++command) {
    if (command == 0x60 || command == 0xd1) continue;  // these take a data byte
    h.command(static_cast<uint8_t>(command));
  }
  h.out(kI8042DataOffset, 0xf2);  // "get ID" for a keyboard that does not exist
  CHECK(h.resets == 0);
  h.command(0xaa);
  CHECK(h.data() == 0x55);
}

TEST_CASE("i8042: ports between data and status read 0 and ignore writes") {
  I8042Harness h;
  h.out(1, 0xfe);
  h.out(3, 0x00);
  CHECK(h.in(1) == 0);
  CHECK(h.in(2) == 0);
  CHECK(h.resets == 0);
}

TEST_CASE("i8042: wide and out-of-range accesses are harmless") {
  I8042Harness h;
  std::vector<uint8_t> wide(8, 0);
  h.controller.read(3, wide);
  CHECK(wide[2] == 0xff);
  h.controller.read(~uint64_t{0}, wide);
  CHECK(wide == std::vector<uint8_t>(8, 0xff));
  h.controller.write(~uint64_t{0} - 1, std::vector<uint8_t>(8, 0xfe));
  h.controller.write(5, std::vector<uint8_t>{0xfe});
  CHECK(h.resets == 0);
  const std::vector<uint8_t> reset_in_lane{0x00, 0xfe};  // lane 1 lands on 0x64
  h.controller.write(3, reset_in_lane);
  CHECK(h.resets == 1);
}

TEST_CASE("i8042: status reports whether the last write was a command") {
  I8042Harness h;
  h.command(0xae);
  CHECK((h.status() & 0x08) != 0);
  h.out(kI8042DataOffset, 0xf4);
  CHECK((h.status() & 0x08) == 0);
}

TEST_CASE("i8042: an empty reset callback is allowed") {
  I8042 controller(nullptr);
  const uint8_t reset = 0xfe;
  controller.write(kI8042CommandOffset, std::span<const uint8_t>(&reset, 1));
  CHECK(controller.reset_requests() == 1);
}

}  // namespace
}  // namespace minivmm
