// Serial: the 16550A register file and interrupt logic. Register semantics follow the TI/National
// PC16550D datasheet; the parts Linux's 8250 driver checks are called out where they are
// implemented (drivers/tty/serial/8250/8250_port.c: autoconfig(), serial8250_do_startup()). The
// interrupt line is modelled as a level (interrupt_id() != NO_INT) and every access compares it
// before and after, so raise_irq fires once per rising edge: the 8250 interrupt handler loops
// until IIR reads NO_INT, so an edge-triggered irqfd never leaves a pending condition unseen.
#include "devices/legacy/serial.hpp"

#include <linux/serial_reg.h>

#include <algorithm>
#include <utility>

namespace minivmm {

namespace {

// IIR bits 7:6 read 11 when the FIFOs are enabled: Linux's autoconfig() reads IIR >> 6 after
// setting FCR_ENABLE_FIFO and takes 3 to mean a 16550A. Not in this host's <linux/serial_reg.h>
// (newer ones call it UART_IIR_FIFO_ENABLED_16550A).
constexpr uint8_t kIirFifoEnabled = 0xc0;
// IER bits 7:4 do not exist on a 16550A and read 0 (autoconfig's IER probe and its XScale UUE
// test rely on it); MCR bits 7:5 likewise.
constexpr uint8_t kIerMask = 0x0f;
constexpr uint8_t kMcrMask = 0x1f;
// A 16550A's receive FIFO; loopback bytes beyond it overrun, as on the chip.
constexpr size_t kLoopbackFifoDepth = 16;
// Divisor 12: 9600 baud from the 1.8432 MHz clock, as firmware leaves it. The guest reprograms it.
constexpr uint8_t kDefaultDivisorLow = 0x0c;
constexpr uint8_t kFloatingBus = 0xff;

constexpr uint8_t bits(int value) {
  return static_cast<uint8_t>(value);
}

// Guest-controlled: `offset` and the access width. A lane addresses register offset + lane and
// exists only when that stays below kSerialPortCount (checked without overflow).
bool lane_in_window(uint64_t offset, size_t lane) {
  return offset < kSerialPortCount && lane < kSerialPortCount - offset;
}

}  // namespace

Serial::Serial(RaiseIrq raise_irq, OutputSink on_output, size_t input_capacity)
    : m_raise_irq(std::move(raise_irq)),
      m_on_output(std::move(on_output)),
      m_input_capacity(std::max<size_t>(input_capacity, 1)),
      m_dll(kDefaultDivisorLow) {}

void Serial::read(uint64_t offset, std::span<uint8_t> data) {
  bool raise = false;
  {
    std::lock_guard lock(m_mutex);
    const bool line_before = interrupt_id() != UART_IIR_NO_INT;
    for (size_t lane = 0; lane < data.size(); ++lane) {
      data[lane] = lane_in_window(offset, lane) ? read_register(offset + lane) : kFloatingBus;
    }
    raise = rising_edge(line_before);
  }
  if (raise && m_raise_irq) m_raise_irq();
}

void Serial::write(uint64_t offset, std::span<const uint8_t> data) {
  std::unique_lock lock(m_mutex);
  const bool line_before = interrupt_id() != UART_IIR_NO_INT;
  uint8_t tx = 0;
  bool transmitted = false;
  for (size_t lane = 0; lane < data.size(); ++lane) {
    // Only the THR lane transmits, and an access has at most one lane per register.
    if (lane_in_window(offset, lane)) {
      transmitted |= write_register(offset + lane, data[lane], tx);
    }
  }
  const bool raise = rising_edge(line_before);
  if (transmitted) {
    ++m_counters.bytes_out;
    // Hand over to the output lock before releasing the registers, so bytes from several vCPUs
    // leave in THR order while the register lock is not held across the callback.
    std::lock_guard output_lock(m_output_mutex);
    lock.unlock();
    if (m_on_output) m_on_output(std::span<const uint8_t>(&tx, 1));
  } else {
    lock.unlock();
  }
  if (raise && m_raise_irq) m_raise_irq();
}

void Serial::enqueue_input(std::span<const uint8_t> bytes) {
  bool raise = false;
  {
    std::lock_guard lock(m_mutex);
    const bool line_before = interrupt_id() != UART_IIR_NO_INT;
    // In loopback the receiver is disconnected from the serial input, so host bytes are lost.
    const size_t space = loopback() ? 0 : m_input_capacity - m_rx.size();
    const size_t accepted = std::min(space, bytes.size());
    m_rx.insert(m_rx.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(accepted));
    m_counters.bytes_in += accepted;
    m_counters.input_dropped += bytes.size() - accepted;
    raise = rising_edge(line_before);
  }
  if (raise && m_raise_irq) m_raise_irq();
}

bool Serial::try_enqueue_input(std::span<const uint8_t> bytes) {
  bool raise = false;
  {
    std::lock_guard lock(m_mutex);
    if (loopback() || bytes.size() > m_input_capacity - m_rx.size()) return false;
    const bool line_before = interrupt_id() != UART_IIR_NO_INT;
    m_rx.insert(m_rx.end(), bytes.begin(), bytes.end());
    m_counters.bytes_in += bytes.size();
    raise = rising_edge(line_before);
  }
  if (raise && m_raise_irq) m_raise_irq();
  return true;
}

size_t Serial::input_space() const {
  std::lock_guard lock(m_mutex);
  return m_input_capacity - m_rx.size();
}

SerialCounters Serial::counters() const {
  std::lock_guard lock(m_mutex);
  return m_counters;
}

uint8_t Serial::read_register(uint64_t reg) {
  switch (reg) {
    case UART_RX:
      if (dlab()) return m_dll;
      if (m_rx.empty()) return 0;
      {
        const uint8_t byte = m_rx.front();
        m_rx.pop_front();
        return byte;
      }
    case UART_IER:
      return dlab() ? m_dlm : m_ier;
    case UART_IIR:
      // With LCR 0xbf this offset is a 16650's EFR; a 16550A keeps answering IIR, which is what
      // autoconfig_16550a() expects from a plain 16550A.
      return read_iir();
    case UART_LCR:
      return m_lcr;
    case UART_MCR:
      return m_mcr;
    case UART_LSR:
      return read_lsr();
    case UART_MSR:
      return modem_status();
    default:
      return m_scr;  // UART_SCR, the only register left in the 8-port window
  }
}

bool Serial::write_register(uint64_t reg, uint8_t value, uint8_t& tx) {
  switch (reg) {
    case UART_TX:
      if (dlab()) {
        m_dll = value;
        return false;
      }
      return write_thr(value, tx);
    case UART_IER:
      if (dlab()) {
        m_dlm = value;
      } else {
        write_ier(value);
      }
      return false;
    case UART_FCR:
      write_fcr(value);
      return false;
    case UART_LCR:
      m_lcr = value;
      return false;
    case UART_MCR:
      m_mcr = value & kMcrMask;
      return false;
    case UART_SCR:
      m_scr = value;
      return false;
    default:
      return false;  // LSR and MSR are read-only (their factory-test writes are not emulated)
  }
}

bool Serial::write_thr(uint8_t value, uint8_t& tx) {
  bool transmitted = false;
  if (loopback()) {
    // Loopback: the transmitter feeds the receiver (autoconfig's size_fifo() counts these).
    if (m_rx.size() < kLoopbackFifoDepth) {
      m_rx.push_back(value);
    } else {
      m_overrun = true;
    }
  } else {
    tx = value;
    transmitted = true;
  }
  // The byte left THR at once, so THR is empty again: a fresh THRE interrupt when enabled.
  m_thri_pending = (m_ier & UART_IER_THRI) != 0;
  return transmitted;
}

void Serial::write_ier(uint8_t value) {
  const uint8_t enabled = value & kIerMask;
  const bool thri_newly_enabled = (enabled & UART_IER_THRI) && !(m_ier & UART_IER_THRI);
  m_ier = enabled;
  // THR is always empty, so enabling the THRE interrupt raises it at once. Linux's startup tests
  // (UART_BUG_THRE, UART_BUG_TXEN) and serial8250_start_tx() depend on this.
  if (thri_newly_enabled) m_thri_pending = true;
  if (!(m_ier & UART_IER_THRI)) m_thri_pending = false;
}

void Serial::write_fcr(uint8_t value) {
  const bool enable = (value & UART_FCR_ENABLE_FIFO) != 0;
  // Changing the FIFO enable bit resets both FIFOs (PC16550D FCR bit 0); CLEAR_RCVR does it on
  // request. The transmit FIFO is always empty, so CLEAR_XMIT has nothing to do. The receive
  // trigger level (bits 7:6) is accepted and ignored: data-ready interrupts fire from one byte.
  if (enable != m_fifo_enabled || (value & UART_FCR_CLEAR_RCVR)) clear_receive_fifo();
  m_fifo_enabled = enable;
}

uint8_t Serial::read_iir() {
  const uint8_t id = interrupt_id();
  // Reading IIR acknowledges a THRE interrupt when it is the one reported (PC16550D table 4).
  if (id == UART_IIR_THRI) m_thri_pending = false;
  return id | (m_fifo_enabled ? kIirFifoEnabled : 0);
}

uint8_t Serial::read_lsr() {
  uint8_t lsr = bits(UART_LSR_THRE | UART_LSR_TEMT);  // 0x60: Linux's reset-state check
  if (!m_rx.empty()) lsr |= bits(UART_LSR_DR);
  if (m_overrun) lsr |= bits(UART_LSR_OE);
  m_overrun = false;
  return lsr;
}

uint8_t Serial::modem_status() const {
  uint8_t msr = 0;
  if (loopback()) {
    // Loopback wires the outputs back (autoconfig() expects 0x90 after MCR = LOOP|OUT2|RTS).
    if (m_mcr & UART_MCR_DTR) msr |= bits(UART_MSR_DSR);
    if (m_mcr & UART_MCR_RTS) msr |= bits(UART_MSR_CTS);
    if (m_mcr & UART_MCR_OUT1) msr |= bits(UART_MSR_RI);
    if (m_mcr & UART_MCR_OUT2) msr |= bits(UART_MSR_DCD);
    return msr;
  }
  // The host end behaves like a null-modem peer that is always ready: DTR shows up as DSR and
  // DCD, RTS as CTS. Changes raise no modem-status interrupt (delta bits stay 0).
  if (m_mcr & UART_MCR_DTR) msr |= bits(UART_MSR_DSR | UART_MSR_DCD);
  if (m_mcr & UART_MCR_RTS) msr |= bits(UART_MSR_CTS);
  return msr;
}

uint8_t Serial::interrupt_id() const {
  // PC16550D priority: line status, then received data, then THR empty (modem status unused).
  if ((m_ier & UART_IER_RLSI) && m_overrun) return UART_IIR_RLSI;
  if ((m_ier & UART_IER_RDI) && !m_rx.empty()) return UART_IIR_RDI;
  if ((m_ier & UART_IER_THRI) && m_thri_pending) return UART_IIR_THRI;
  return UART_IIR_NO_INT;
}

bool Serial::dlab() const {
  return (m_lcr & UART_LCR_DLAB) != 0;
}

bool Serial::loopback() const {
  return (m_mcr & UART_MCR_LOOP) != 0;
}

void Serial::clear_receive_fifo() {
  m_counters.input_cleared += m_rx.size();
  m_rx.clear();
}

bool Serial::rising_edge(bool line_before) {
  const bool line_after = interrupt_id() != UART_IIR_NO_INT;
  if (line_before || !line_after) return false;
  ++m_counters.interrupts;
  return true;
}

}  // namespace minivmm
