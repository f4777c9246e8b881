// Unit tests of the 16550A serial device: register semantics Linux's 8250 driver relies on,
// interrupt edges, the bounded input FIFO and hostile access widths. No KVM involved.
#include "devices/legacy/serial.hpp"

#include <linux/serial_reg.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

namespace minivmm {
namespace {

// A Serial with recording callbacks.
struct SerialHarness {
  std::atomic<int> irqs{0};
  std::mutex output_mutex;
  std::vector<uint8_t> output;
  Serial serial;

  explicit SerialHarness(size_t input_capacity = Serial::kDefaultInputCapacity)
      : serial([this] { ++irqs; },
               [this](std::span<const uint8_t> bytes) {
                 std::lock_guard lock(output_mutex);
                 output.insert(output.end(), bytes.begin(), bytes.end());
               },
               input_capacity) {}

  uint8_t in(uint64_t reg) {
    uint8_t value = 0;
    serial.read(reg, std::span<uint8_t>(&value, 1));
    return value;
  }
  void out(uint64_t reg, uint8_t value) { serial.write(reg, std::span<const uint8_t>(&value, 1)); }
  void input(std::vector<uint8_t> bytes) { serial.enqueue_input(bytes); }
};

TEST_CASE("serial: a THR write is handed to on_output and counted") {
  SerialHarness h;
  h.out(UART_TX, 'h');
  h.out(UART_TX, 'i');
  CHECK(h.output == std::vector<uint8_t>{'h', 'i'});
  CHECK(h.serial.counters().bytes_out == 2);
}

TEST_CASE("serial: LSR reports THRE and TEMT at reset and after transmitting") {
  SerialHarness h;
  CHECK(h.in(UART_LSR) == 0x60);
  h.out(UART_TX, 'x');
  CHECK(h.in(UART_LSR) == 0x60);
}

TEST_CASE("serial: DLAB switches offsets 0 and 1 to the divisor latch and back") {
  SerialHarness h;
  h.out(UART_IER, UART_IER_RDI);
  h.out(UART_LCR, UART_LCR_DLAB | UART_LCR_WLEN8);
  h.out(UART_DLL, 0x01);
  h.out(UART_DLM, 0x02);
  CHECK(h.in(UART_DLL) == 0x01);
  CHECK(h.in(UART_DLM) == 0x02);
  CHECK(h.output.empty());
  h.out(UART_LCR, UART_LCR_WLEN8);
  CHECK(h.in(UART_IER) == UART_IER_RDI);
  CHECK(h.in(UART_LCR) == UART_LCR_WLEN8);
}

TEST_CASE("serial: the scratch register keeps what was written") {
  SerialHarness h;
  h.out(UART_SCR, 0xa5);
  CHECK(h.in(UART_SCR) == 0xa5);
  h.out(UART_SCR, 0x5a);
  CHECK(h.in(UART_SCR) == 0x5a);
}

TEST_CASE("serial: IER keeps only its four defined bits") {
  SerialHarness h;
  h.out(UART_IER, 0xff);
  CHECK(h.in(UART_IER) == 0x0f);
  h.out(UART_IER, 0);
  CHECK(h.in(UART_IER) == 0x00);
}

TEST_CASE("serial: IIR shows the 16550A FIFO bits only after FCR enables the FIFO") {
  SerialHarness h;
  CHECK(h.in(UART_IIR) == UART_IIR_NO_INT);
  h.out(UART_FCR, UART_FCR_ENABLE_FIFO);
  CHECK(h.in(UART_IIR) == (0xc0 | UART_IIR_NO_INT));
  h.out(UART_FCR, 0);
  CHECK(h.in(UART_IIR) == UART_IIR_NO_INT);
}

TEST_CASE("serial: loopback with OUT2 and RTS reads MSR 0x90 as Linux autoconfig expects") {
  SerialHarness h;
  h.out(UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2 | UART_MCR_RTS);
  CHECK((h.in(UART_MSR)&0xf0) == 0x90);
}

TEST_CASE("serial: MSR reports DSR and DCD for DTR and CTS for RTS") {
  SerialHarness h;
  CHECK(h.in(UART_MSR) == 0);
  h.out(UART_MCR, UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2);
  CHECK(h.in(UART_MSR) == (UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS));
}

TEST_CASE("serial: enabling the THRE interrupt raises it and reading IIR clears it") {
  SerialHarness h;
  h.out(UART_IER, UART_IER_THRI);
  CHECK(h.irqs == 1);
  CHECK(h.in(UART_IIR) == UART_IIR_THRI);
  CHECK(h.in(UART_IIR) == UART_IIR_NO_INT);
}

TEST_CASE("serial: each transmitted byte raises a new THRE interrupt after IIR was read") {
  SerialHarness h;
  h.out(UART_IER, UART_IER_THRI);
  CHECK(h.in(UART_IIR) == UART_IIR_THRI);
  h.out(UART_TX, 'a');
  CHECK(h.irqs == 2);
  CHECK(h.in(UART_IIR) == UART_IIR_THRI);
  h.out(UART_TX, 'b');
  CHECK(h.irqs == 3);
  CHECK(h.serial.counters().interrupts == 3);
}

TEST_CASE("serial: disabling the THRE interrupt withdraws it") {
  SerialHarness h;
  h.out(UART_IER, UART_IER_THRI);
  h.out(UART_IER, 0);
  CHECK(h.in(UART_IIR) == UART_IIR_NO_INT);
}

TEST_CASE("serial: no interrupt is raised while interrupts are disabled") {
  SerialHarness h;
  h.out(UART_TX, 'a');
  h.input({'b'});
  CHECK(h.irqs == 0);
  CHECK(h.in(UART_IIR) == UART_IIR_NO_INT);
}

TEST_CASE("serial: input raises the data interrupt, which clears once RBR is drained") {
  SerialHarness h;
  h.out(UART_IER, UART_IER_RDI);
  h.input({'o', 'k'});
  CHECK(h.irqs == 1);
  CHECK(h.in(UART_IIR) == UART_IIR_RDI);
  CHECK((h.in(UART_LSR)&UART_LSR_DR) != 0);
  CHECK(h.in(UART_RX) == 'o');
  CHECK(h.in(UART_IIR) == UART_IIR_RDI);
  CHECK(h.in(UART_RX) == 'k');
  CHECK(h.in(UART_IIR) == UART_IIR_NO_INT);
  CHECK((h.in(UART_LSR)&UART_LSR_DR) == 0);
  CHECK(h.serial.counters().bytes_in == 2);
}

TEST_CASE("serial: received data takes priority over THRE in IIR") {
  SerialHarness h;
  h.out(UART_IER, UART_IER_RDI | UART_IER_THRI);
  h.input({'z'});
  CHECK(h.in(UART_IIR) == UART_IIR_RDI);
  h.in(UART_RX);
  CHECK(h.in(UART_IIR) == UART_IIR_THRI);
}

TEST_CASE("serial: re-enabling the data interrupt with input waiting raises it") {
  SerialHarness h;
  h.input({'q'});
  CHECK(h.irqs == 0);
  h.out(UART_IER, UART_IER_RDI);
  CHECK(h.irqs == 1);
}

TEST_CASE("serial: input beyond the FIFO bound is dropped and counted") {
  SerialHarness h(16);
  h.input(std::vector<uint8_t>(10, 'a'));
  h.input(std::vector<uint8_t>(10, 'b'));
  CHECK(h.serial.input_space() == 0);
  const SerialCounters counters = h.serial.counters();
  CHECK(counters.bytes_in == 16);
  CHECK(counters.input_dropped == 4);
  int drained = 0;
  while ((h.in(UART_LSR)&UART_LSR_DR) && drained < 100) {
    h.in(UART_RX);
    ++drained;
  }
  CHECK(drained == 16);
}

TEST_CASE("serial: the default input FIFO holds 64 KiB and no more") {
  SerialHarness h;
  h.input(std::vector<uint8_t>(Serial::kDefaultInputCapacity + 100, 'x'));
  h.input(std::vector<uint8_t>(1000, 'y'));
  CHECK(h.serial.counters().bytes_in == Serial::kDefaultInputCapacity);
  CHECK(h.serial.counters().input_dropped == 1100);
}

TEST_CASE("serial: FCR clear-receiver discards pending input") {
  SerialHarness h;
  h.input({'1', '2', '3'});
  h.out(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR);
  CHECK((h.in(UART_LSR)&UART_LSR_DR) == 0);
  CHECK(h.serial.counters().input_cleared == 3);
}

TEST_CASE("serial: loopback routes THR to RBR and not to the output") {
  SerialHarness h;
  h.out(UART_MCR, UART_MCR_LOOP);
  h.out(UART_TX, 0x42);
  CHECK(h.output.empty());
  CHECK(h.serial.counters().bytes_out == 0);
  CHECK((h.in(UART_LSR)&UART_LSR_DR) != 0);
  CHECK(h.in(UART_RX) == 0x42);
  h.out(UART_MCR, 0);
  h.out(UART_TX, 0x43);
  CHECK(h.output == std::vector<uint8_t>{0x43});
}

TEST_CASE("serial: loopback overruns after 16 bytes and LSR reports it once") {
  SerialHarness h;
  h.out(UART_MCR, UART_MCR_LOOP);
  for (int i = 0; i < 20; ++i) h.out(UART_TX, static_cast<uint8_t>(i));
  CHECK((h.in(UART_LSR)&UART_LSR_OE) != 0);
  CHECK((h.in(UART_LSR)&UART_LSR_OE) == 0);
  int drained = 0;
  while ((h.in(UART_LSR)&UART_LSR_DR) && drained < 100) {
    h.in(UART_RX);
    ++drained;
  }
  CHECK(drained == 16);
}

TEST_CASE("serial: host input is dropped while the guest has the UART in loopback") {
  SerialHarness h;
  h.out(UART_MCR, UART_MCR_LOOP);
  h.input({'a', 'b'});
  CHECK((h.in(UART_LSR)&UART_LSR_DR) == 0);
  CHECK(h.serial.counters().input_dropped == 2);
}

TEST_CASE("serial: a wide write splits into byte lanes, one per register") {
  SerialHarness h;
  const std::vector<uint8_t> bytes{'w', UART_IER_RDI};
  h.serial.write(UART_TX, bytes);
  CHECK(h.output == std::vector<uint8_t>{'w'});
  CHECK(h.in(UART_IER) == UART_IER_RDI);
}

TEST_CASE("serial: accesses past the eight registers are ignored and read 0xff") {
  SerialHarness h;
  std::vector<uint8_t> wide(8, 0);
  h.serial.read(UART_SCR, wide);
  CHECK(wide[1] == 0xff);
  CHECK(wide[7] == 0xff);
  std::vector<uint8_t> far(4, 0);
  h.serial.read(100, far);
  CHECK(far == std::vector<uint8_t>(4, 0xff));
  h.serial.write(~uint64_t{0}, std::vector<uint8_t>(8, 'x'));
  h.serial.write(8, std::vector<uint8_t>{'x'});
  h.serial.read(~uint64_t{0} - 2, far);
  h.serial.write(UART_TX, std::span<const uint8_t>());
  h.serial.read(UART_RX, std::span<uint8_t>());
  CHECK(h.output.empty());
  CHECK(h.in(UART_LSR) == 0x60);
}

TEST_CASE("serial: writes to the read-only LSR and MSR change nothing") {
  SerialHarness h;
  h.out(UART_LSR, 0x00);
  h.out(UART_MSR, 0xff);
  CHECK(h.in(UART_LSR) == 0x60);
  CHECK(h.in(UART_MSR) == 0x00);
}

TEST_CASE("serial: concurrent writes from two threads produce every byte") {
  SerialHarness h;
  constexpr int kPerThread = 5000;
  auto writer = [&h](uint8_t byte) {
    for (int i = 0; i < kPerThread; ++i) h.out(UART_TX, byte);
  };
  std::thread a(writer, uint8_t{'a'});
  std::thread b(writer, uint8_t{'b'});
  a.join();
  b.join();
  REQUIRE(h.output.size() == 2 * kPerThread);
  size_t as = 0;
  for (uint8_t byte : h.output) as += byte == 'a';
  CHECK(as == kPerThread);
  CHECK(h.serial.counters().bytes_out == 2 * kPerThread);
}

TEST_CASE("serial: input from another thread while the guest reads is neither lost nor torn") {
  SerialHarness h;
  constexpr size_t kBytes = 20000;
  std::thread host([&h] {
    for (size_t i = 0; i < kBytes; ++i) {
      const uint8_t byte = static_cast<uint8_t>(i);
      h.serial.enqueue_input(std::span<const uint8_t>(&byte, 1));
    }
  });
  size_t received = 0;
  uint8_t expected = 0;
  bool in_order = true;
  while (received < kBytes) {
    if (h.in(UART_LSR)&UART_LSR_DR) {
      in_order &= h.in(UART_RX) == expected++;
      ++received;
    }
  }
  host.join();
  CHECK(in_order);
  CHECK(h.serial.counters().input_dropped == 0);
}

TEST_CASE("serial: empty callbacks are allowed") {
  Serial serial(nullptr, nullptr);
  const uint8_t ier = UART_IER_THRI;
  serial.write(UART_IER, std::span<const uint8_t>(&ier, 1));
  const uint8_t byte = 'x';
  serial.write(UART_TX, std::span<const uint8_t>(&byte, 1));
  serial.enqueue_input(std::span<const uint8_t>(&byte, 1));
  CHECK(serial.counters().bytes_out == 1);
}

TEST_CASE("serial: try_enqueue_input takes all bytes that fit, or none, and raises RDI") {
  SerialHarness h(8);
  h.out(UART_IER, UART_IER_RDI);
  const std::vector<uint8_t> five{1, 2, 3, 4, 5};
  CHECK(h.serial.try_enqueue_input(five));
  CHECK(h.irqs.load() == 1);
  CHECK_FALSE(h.serial.try_enqueue_input(five));  // 3 bytes free: refused whole
  CHECK(h.serial.input_space() == 3);
  CHECK(h.serial.counters().input_dropped == 0);
  CHECK(h.serial.counters().bytes_in == 5);
  CHECK(h.in(UART_RX) == 1);
  const std::vector<uint8_t> four{6, 7, 8, 9};
  CHECK(h.serial.try_enqueue_input(four));
  CHECK(h.serial.input_space() == 0);
}

TEST_CASE("serial: try_enqueue_input refuses input while the UART is in loopback") {
  SerialHarness h(8);
  h.out(UART_MCR, UART_MCR_LOOP);
  const std::vector<uint8_t> one{1};
  CHECK_FALSE(h.serial.try_enqueue_input(one));
  CHECK(h.serial.counters().bytes_in == 0);
}

}  // namespace
}  // namespace minivmm
