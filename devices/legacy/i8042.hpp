// I8042: the smallest PS/2 keyboard controller that lets Linux's i8042 driver probe without
// hanging and lets the guest reboot through it. It owns the controller's status register, command
// byte, one-byte output buffer and the command set the driver uses (self-test, command byte,
// interface tests, port enable/disable, loops, output port), and turns a pulse of the CPU reset
// line (command 0xfe, `reboot=k`) into a call of `on_reset`. It deliberately has no keyboard and
// no AUX (mouse) port: bytes sent to devices are dropped, the AUX interface test fails so Linux
// skips the mouse at once, and it raises no interrupts (IRQ 1 and 12 stay silent).
#pragma once

#include <cstdint>
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

  explicit I8042(ResetCallback on_reset);

  /// Each byte lane of a wide access is the next port (ISA split); lanes past 0x64 read 0xff.
  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  /// How many times the guest has requested a reset.
  uint64_t reset_requests() const;

 private:
  enum class Source { keyboard, aux };
  /// Effect of one port write that the caller must act on after unlocking.
  enum class Effect { none, reset };

  uint8_t read_port(uint64_t port_offset);
  Effect write_port(uint64_t port_offset, uint8_t value);
  Effect write_command(uint8_t command);
  Effect write_data(uint8_t value);
  uint8_t status() const;
  void put_output(uint8_t value, Source source);

  const ResetCallback m_on_reset;

  mutable std::mutex m_mutex;  // guards everything below
  uint8_t m_command_byte;      // the "CTR" read by 0x20 and written by 0x60
  uint8_t m_output_port;       // read by 0xd0, written by 0xd1; bit 0 is the reset line
  uint8_t m_output = 0;        // the output buffer; stale contents remain readable
  bool m_output_full = false;
  Source m_output_source = Source::keyboard;
  bool m_last_write_was_command = false;
  uint8_t m_pending_command = 0;  // a command waiting for its data byte, 0 when none
  uint64_t m_reset_requests = 0;
};

}  // namespace minivmm
