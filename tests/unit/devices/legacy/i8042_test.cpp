// Unit tests of the i8042 controller: the reset pulse and the answers Linux's i8042 probe waits
// for, the keyboard's answers to atkbd's commands with IRQ 1, the Ctrl-Alt-Del sequence in both
// scancode sets, plus hostile port accesses.
#include "devices/legacy/i8042.hpp"

#include <vector>

#include <doctest/doctest.h>

namespace minivmm {
namespace {

constexpr uint8_t kStatusOutputFull = 0x01;
constexpr uint8_t kStatusAuxData = 0x20;

struct I8042Harness {
  int resets = 0;
  int irqs = 0;
  I8042 controller{[this] { ++resets; }, [this] { ++irqs; }};

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
  void keyboard(uint8_t value) { out(kI8042DataOffset, value); }
  void write_ctr(uint8_t value) {
    command(0x60);
    out(kI8042DataOffset, value);
  }
  // Reads bytes the way Linux's interrupt handler does: while OBF is set, one per read.
  std::vector<uint8_t> drain() {
    std::vector<uint8_t> bytes;
    while ((status() & kStatusOutputFull) != 0 && bytes.size() < 64) bytes.push_back(data());
    return bytes;
  }
};

using Bytes = std::vector<uint8_t>;

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

TEST_CASE("keyboard: GET ID answers ACK and the translated ID 0xab 0x41, one IRQ per byte") {
  I8042Harness h;  // firmware default command byte: translation and keyboard interrupt on
  h.keyboard(0xf2);
  CHECK((h.status() & kStatusOutputFull) != 0);
  CHECK(h.irqs == 1);
  CHECK(h.data() == 0xfa);
  CHECK(h.irqs == 2);
  CHECK(h.data() == 0xab);
  CHECK(h.irqs == 3);
  CHECK(h.data() == 0x41);
  CHECK(h.irqs == 3);
  CHECK((h.status() & kStatusOutputFull) == 0);
  CHECK(h.controller.interrupts() == 3);
}

TEST_CASE("keyboard: without translation GET ID answers the raw ID 0xab 0x83") {
  I8042Harness h;
  h.write_ctr(0x05);  // keyboard interrupt, system flag, no translation
  h.keyboard(0xf2);
  CHECK(h.drain() == Bytes{0xfa, 0xab, 0x83});
}

TEST_CASE("keyboard: LEDs, typematic rate, enable and scan-set parameters are each ACKed") {
  I8042Harness h;
  h.keyboard(0xed);
  h.keyboard(0x07);
  h.keyboard(0xf3);
  h.keyboard(0x00);
  h.keyboard(0xf4);
  CHECK(h.drain() == Bytes{0xfa, 0xfa, 0xfa, 0xfa, 0xfa});
  h.keyboard(0xf0);
  h.keyboard(0x00);  // which set? set 2, as the translating controller reports it
  CHECK(h.drain() == Bytes{0xfa, 0xfa, 0x41});
  h.keyboard(0xff);
  CHECK(h.drain() == Bytes{0xfa, 0xaa});
  h.keyboard(0xee);
  CHECK(h.drain() == Bytes{0xee});
}

TEST_CASE("keyboard: no IRQ while the command byte disables it; enabling raises the pending one") {
  I8042Harness h;
  h.write_ctr(0x44);  // translation and system flag, keyboard interrupt off
  h.keyboard(0xf4);
  CHECK((h.status() & kStatusOutputFull) != 0);
  CHECK(h.irqs == 0);
  h.write_ctr(0x45);
  CHECK(h.irqs == 1);
  CHECK(h.data() == 0xfa);
}

TEST_CASE("keyboard: a controller answer displaces a keyboard byte without losing it") {
  I8042Harness h;
  h.keyboard(0xf2);
  h.command(0x20);  // read the command byte
  CHECK(h.data() == 0x45);
  CHECK(h.drain() == Bytes{0xfa, 0xab, 0x41});
}

TEST_CASE("ctrl-alt-del: set 1 presses and releases while the controller translates") {
  I8042Harness h;
  REQUIRE(h.controller.trigger_ctrl_alt_del());
  CHECK(h.irqs == 1);
  CHECK(h.drain() == Bytes{0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d});
  CHECK(h.irqs == 8);
}

TEST_CASE("ctrl-alt-del: set 2 make and break codes without translation") {
  I8042Harness h;
  h.write_ctr(0x05);
  REQUIRE(h.controller.trigger_ctrl_alt_del());
  CHECK(h.drain() == Bytes{0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14});
}

TEST_CASE("ctrl-alt-del: refused whole when the keyboard queue is full; the queue is bounded") {
  I8042Harness h;
  for (int i = 0; i < 20; ++i) h.keyboard(0xf2);  // a guest that never reads its answers
  CHECK_FALSE(h.controller.trigger_ctrl_alt_del());
  // One byte in the output buffer plus the keyboard's queue, nothing more.
  CHECK(h.drain().size() == 1 + I8042::kKeyboardQueueSize);
  REQUIRE(h.controller.trigger_ctrl_alt_del());
  CHECK(h.drain().size() == 8);
}

}  // namespace
}  // namespace minivmm
