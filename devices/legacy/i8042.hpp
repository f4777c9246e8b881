// I8042: the smallest PS/2 keyboard controller with a keyboard that lets Linux's i8042 and atkbd
// drivers probe without waiting, lets the guest reboot through it, and lets the host press
// Ctrl-Alt-Del (Firecracker's SendCtrlAltDel). It owns the controller's status register, command
// byte, one-byte output buffer, the keyboard's short queue behind it and the command set the driver
// uses (self-test, command byte, interface tests, port enable/disable, loops, output port), turns a
// pulse of the CPU reset line (command 0xfe, `reboot=k`) into a call of `on_reset`, and answers
// keyboard commands as a PS/2 keyboard does (ACK 0xfa, GET ID 0xab 0x83 or 0x41 when the controller
// translates, reset BAT 0xaa), raising IRQ 1 through `raise_irq` for every keyboard byte while the
// command byte enables the keyboard interrupt. Key codes follow the command byte's translation bit:
// scancode set 1 when translating (as Linux leaves it), set 2 otherwise. There is no AUX (mouse)
// port: the AUX interface test fails so Linux skips the mouse at once, and IRQ 12 stays silent.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <span>

#include "vmm/bus/bus.hpp"

namespace minivmm {

/// One device covers I/O ports 0x60..0x64 (like Firecracker's): offset 0 is the data port 0x60,
/// offset 4 the status (read) / command (write) port 0x64. Offsets 1-3 (0x61-0x63, e.g. the
/// PC's port B, which KVM's in-kernel PIT serves before any exit) read 0 and ignore writes.
inline constexpr uint16_t kI8042Base = 0x60;
inline constexpr uint64_t kI8042Size = 5;
inline constexpr uint64_t kI8042DataOffset = 0;
inline constexpr uint64_t kI8042CommandOffset = 4;

/// The i8042 controller. Accesses come from vCPU threads and are serialised by one mutex;
/// on_reset is called after it is released.
class I8042 final : public BusDevice {
 public:
  /// Called on the vCPU thread each time the guest pulses the reset line; must not block long
  /// and must not call back into this device. May be empty.
  using ResetCallback = std::function<void()>;
  /// Signals one rising edge of IRQ 1 (the machine wires an edge irqfd). Must not block.
  using RaiseIrq = std::function<void()>;

  /// Keyboard bytes waiting for the one-byte output buffer (a PS/2 keyboard buffers 16); more
  /// are dropped.
  static constexpr size_t kKeyboardQueueSize = 16;

  explicit I8042(ResetCallback on_reset, RaiseIrq raise_irq = {});

  /// Each byte lane of a wide access is the next port (ISA split); lanes past 0x64 read 0xff.
  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  /// How many times the guest has requested a reset.
  uint64_t reset_requests() const;
  /// Queues Ctrl, Alt and Delete presses and releases from the keyboard (set 1 when the command
  /// byte translates, else set 2) and raises IRQ 1 if enabled. False, queueing nothing, when the
  /// keyboard queue lacks room for the whole sequence. Any thread.
  bool trigger_ctrl_alt_del();
  /// raise_irq calls so far.
  uint64_t interrupts() const;

 private:
  enum class Source { keyboard, aux };
  /// Effect of one port write that the caller must act on after unlocking.
  enum class Effect { none, reset };

  uint8_t read_port(uint64_t port_offset);
  Effect write_port(uint64_t port_offset, uint8_t value);
  Effect write_command(uint8_t command);
  Effect write_data(uint8_t value);
  void write_keyboard(uint8_t value);
  uint8_t status() const;
  void put_output(uint8_t value, Source source);
  /// Appends keyboard bytes (all or none when `all` and they do not fit); true if queued.
  bool put_keyboard(std::initializer_list<uint8_t> bytes, bool all = false);
  /// Moves the next keyboard byte into an empty output buffer (and schedules IRQ 1).
  void refill_output();
  bool translating() const;
  /// True when the output buffer holds a keyboard byte and the keyboard interrupt is enabled.
  bool keyboard_irq_due() const;
  void raise();

  const ResetCallback m_on_reset;
  const RaiseIrq m_raise_irq;

  mutable std::mutex m_mutex;  // guards everything below
  uint8_t m_command_byte;      // the "CTR" read by 0x20 and written by 0x60
  uint8_t m_output_port;       // read by 0xd0, written by 0xd1; bit 0 is the reset line
  uint8_t m_output = 0;        // the output buffer; stale contents remain readable
  bool m_output_full = false;
  Source m_output_source = Source::keyboard;
  std::deque<uint8_t> m_keyboard;  // keyboard bytes waiting for the output buffer
  bool m_last_write_was_command = false;
  uint8_t m_pending_command = 0;   // a command waiting for its data byte, 0 when none
  uint8_t m_keyboard_command = 0;  // a keyboard command waiting for its parameter, 0 when none
  bool m_irq_due = false;          // raise IRQ 1 once the lock is released
  uint64_t m_reset_requests = 0;
  uint64_t m_interrupts = 0;
};

}  // namespace minivmm
