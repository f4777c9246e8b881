// Serial: a 16550A UART at COM1 as Linux's 8250 driver probes and drives it. It owns the register
// file (RBR/THR, IER, IIR/FCR, LCR with the DLAB-selected divisor latch, MCR with loopback, LSR,
// MSR, SCR), a bounded receive FIFO fed by the host, and the UART's interrupt output, which it
// turns into calls of `raise_irq` on every rising edge (the machine wires that to an edge-triggered
// irqfd, like Firecracker's serial). Transmission is instantaneous: each THR byte goes straight to
// `on_output`, so THRE and TEMT are always set and the device never buffers output. It deliberately
// does not own the host side (stdin, files, terminals), the IRQ routing, baud-rate timing, modem
// status change interrupts, break/parity/framing errors or the 8250 variants' extended registers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <span>

#include "vmm/bus/bus.hpp"

namespace minivmm {

/// COM1's conventional PC resources: 8 consecutive I/O ports from 0x3f8, ISA IRQ 4.
inline constexpr uint16_t kCom1Port = 0x3f8;
inline constexpr uint64_t kSerialPortCount = 8;
inline constexpr uint32_t kCom1Irq = 4;

/// What the serial device has moved so far (a snapshot).
struct SerialCounters {
  uint64_t bytes_out = 0;      ///< bytes handed to on_output (loopback bytes are not counted)
  uint64_t bytes_in = 0;       ///< host bytes accepted by enqueue_input
  uint64_t input_dropped = 0;  ///< host bytes refused: FIFO full, or the UART was in loopback
  uint64_t input_cleared = 0;  ///< received bytes the guest discarded through FCR
  uint64_t interrupts = 0;     ///< raise_irq calls
};

/// A 16550A UART. Register accesses come from vCPU threads and enqueue_input from the event loop;
/// all of them are serialised by one mutex, and no callback runs while that mutex is held.
class Serial final : public BusDevice {
 public:
  /// Signals one new interrupt (a rising edge of the UART's interrupt line). Must not block.
  using RaiseIrq = std::function<void()>;
  /// Receives transmitted bytes, in the order the guest wrote them. Calls are serialised (never
  /// concurrent); it runs on a vCPU thread and must not call back into this Serial.
  using OutputSink = std::function<void(std::span<const uint8_t>)>;

  /// Host input held for the guest before further bytes are dropped.
  static constexpr size_t kDefaultInputCapacity = 64 * 1024;

  /// A UART in its reset state (IER 0, LCR 0, MCR 0, LSR THRE|TEMT, FIFOs disabled). Either
  /// callback may be empty. `input_capacity` bounds the receive FIFO (at least 1 is used).
  Serial(RaiseIrq raise_irq, OutputSink on_output, size_t input_capacity = kDefaultInputCapacity);

  /// Register reads. Each byte lane of a wide access reads the next 8-bit register, as an ISA
  /// bus splits it; lanes beyond register 7 read 0xff. Reads of RBR, IIR and LSR have the
  /// 16550A's side effects (pop a byte, acknowledge THRE, clear overrun).
  void read(uint64_t offset, std::span<uint8_t> data) override;
  /// Register writes, split into byte lanes like read(); lanes beyond register 7 are ignored.
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  /// Appends host input to the receive FIFO (any thread). Bytes beyond the free space, and all
  /// bytes while the guest has the UART in loopback mode, are dropped and counted. Raises the
  /// received-data interrupt when the guest enabled it.
  void enqueue_input(std::span<const uint8_t> bytes);
  /// Appends all of `bytes` or none: false (nothing queued, nothing counted as dropped) when they
  /// do not fit in the free space or the UART is in loopback. For callers that report a refusal
  /// (Machine::send_console_input) instead of silently losing input.
  bool try_enqueue_input(std::span<const uint8_t> bytes);
  /// Free space in the receive FIFO, so a host reader can stop reading instead of dropping.
  size_t input_space() const;
  SerialCounters counters() const;

 private:
  uint8_t read_register(uint64_t reg);
  /// Returns true and sets `tx` when the write transmitted a byte to the host.
  bool write_register(uint64_t reg, uint8_t value, uint8_t& tx);
  bool write_thr(uint8_t value, uint8_t& tx);
  void write_ier(uint8_t value);
  void write_fcr(uint8_t value);
  uint8_t read_iir();
  uint8_t read_lsr();
  uint8_t modem_status() const;
  /// The IIR interrupt identification (priority-encoded), UART_IIR_NO_INT when the line is low.
  uint8_t interrupt_id() const;
  bool dlab() const;
  bool loopback() const;
  void clear_receive_fifo();
  /// Counts and reports a rising edge of the interrupt line since `line_before`.
  bool rising_edge(bool line_before);

  const RaiseIrq m_raise_irq;
  const OutputSink m_on_output;
  const size_t m_input_capacity;

  mutable std::mutex m_mutex;  // guards everything below
  std::mutex m_output_mutex;   // serialises on_output calls; taken while m_mutex is held
  std::deque<uint8_t> m_rx;    // receive FIFO: host input, or THR bytes in loopback mode
  uint8_t m_ier = 0;
  uint8_t m_lcr = 0;
  uint8_t m_mcr = 0;
  uint8_t m_scr = 0;
  uint8_t m_dll;
  uint8_t m_dlm = 0;
  bool m_fifo_enabled = false;
  bool m_overrun = false;       // LSR OE, cleared by reading LSR
  bool m_thri_pending = false;  // THRE interrupt condition, acknowledged by reading IIR
  SerialCounters m_counters;
};

}  // namespace minivmm
