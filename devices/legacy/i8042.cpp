// I8042: the controller command set as Linux's drivers/input/serio/i8042.c uses it. Every command
// that the driver waits on gets its answer at once, so no probe step runs into the driver's 500 ms
// command timeout: self-test 0xaa -> 0x55, keyboard test 0xab -> 0x00, the command byte reads
// back stably, and the AUX probe (loop 0xd3, test 0xa9) fails immediately, reporting no mouse.
// Command codes follow the IBM PC/AT 8042 interface; Linux's names are given beside them.
#include "devices/legacy/i8042.hpp"

#include <utility>

namespace minivmm {

namespace {

// Status register (port 0x64 read).
constexpr uint8_t kStatusOutputFull = 0x01;    // I8042_STR_OBF
constexpr uint8_t kStatusSystemFlag = 0x04;    // I8042_STR_SYSFLAG: self-test passed
constexpr uint8_t kStatusCommand = 0x08;       // I8042_STR_CMDDAT: last write went to 0x64
constexpr uint8_t kStatusNotInhibited = 0x10;  // I8042_STR_KEYLOCK: keylock off
constexpr uint8_t kStatusAuxData = 0x20;       // I8042_STR_AUXDATA: output came from AUX

// Command byte bits.
constexpr uint8_t kCtrSystemFlag = 0x04;  // I8042_CTR_SYSFLAG
constexpr uint8_t kCtrKbdDisable = 0x10;  // I8042_CTR_KBDDIS
constexpr uint8_t kCtrAuxDisable = 0x20;  // I8042_CTR_AUXDIS
// What firmware leaves: keyboard interrupt on, system flag, scancode translation.
constexpr uint8_t kCtrDefault = 0x45;

// Output port: bit 0 drives the CPU reset line (active low), bit 1 the A20 gate.
constexpr uint8_t kOutputPortResetLine = 0x01;
constexpr uint8_t kOutputPortDefault = 0x03;

// Commands (port 0x64 write).
constexpr uint8_t kCmdReadCtr = 0x20;     // I8042_CMD_CTL_RCTR
constexpr uint8_t kCmdWriteCtr = 0x60;    // I8042_CMD_CTL_WCTR
constexpr uint8_t kCmdAuxDisable = 0xa7;  // I8042_CMD_AUX_DISABLE
constexpr uint8_t kCmdAuxEnable = 0xa8;   // I8042_CMD_AUX_ENABLE
constexpr uint8_t kCmdAuxTest = 0xa9;     // I8042_CMD_AUX_TEST
constexpr uint8_t kCmdSelfTest = 0xaa;    // I8042_CMD_CTL_TEST
constexpr uint8_t kCmdKbdTest = 0xab;     // I8042_CMD_KBD_TEST
constexpr uint8_t kCmdKbdDisable = 0xad;  // I8042_CMD_KBD_DISABLE
constexpr uint8_t kCmdKbdEnable = 0xae;   // I8042_CMD_KBD_ENABLE
constexpr uint8_t kCmdReadOutputPort = 0xd0;
constexpr uint8_t kCmdWriteOutputPort = 0xd1;
constexpr uint8_t kCmdKbdLoop = 0xd2;     // I8042_CMD_KBD_LOOP
constexpr uint8_t kCmdAuxLoop = 0xd3;     // I8042_CMD_AUX_LOOP
constexpr uint8_t kCmdAuxSend = 0xd4;     // I8042_CMD_AUX_SEND
constexpr uint8_t kCmdPulseFirst = 0xf0;  // 0xf0-0xff pulse the output lines whose bit is 0

// Answers.
constexpr uint8_t kSelfTestPassed = 0x55;
constexpr uint8_t kInterfaceTestPassed = 0x00;
// AUX interface test result "clock line stuck high": no mouse port. Linux's i8042_check_aux()
// treats anything but 0x00, 0xfa and 0xff as "no AUX" and skips the mouse without waiting.
constexpr uint8_t kAuxTestNoPort = 0x02;
// With no AUX port the loop returns the idle line, never the sent byte, so Linux's MUX and AUX
// loop checks fail at once instead of timing out.
constexpr uint8_t kAuxLoopNoPort = 0xff;
constexpr uint8_t kFloatingBus = 0xff;

constexpr uint8_t set_bits(uint8_t value, uint8_t mask) {
  return value | mask;
}
constexpr uint8_t clear_bits(uint8_t value, uint8_t mask) {
  return static_cast<uint8_t>(value & ~mask);
}

bool takes_data_byte(uint8_t command) {
  return command == kCmdWriteCtr || command == kCmdWriteOutputPort || command == kCmdKbdLoop ||
         command == kCmdAuxLoop || command == kCmdAuxSend;
}

}  // namespace

I8042::I8042(ResetCallback on_reset)
    : m_on_reset(std::move(on_reset)),
      m_command_byte(kCtrDefault),
      m_output_port(kOutputPortDefault) {}

void I8042::read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(m_mutex);
  for (size_t lane = 0; lane < data.size(); ++lane) {
    // Guest-controlled: offset and width; a lane exists only below kI8042Size (overflow-safe).
    const bool in_window = offset < kI8042Size && lane < kI8042Size - offset;
    data[lane] = in_window ? read_port(offset + lane) : kFloatingBus;
  }
}

void I8042::write(uint64_t offset, std::span<const uint8_t> data) {
  bool reset = false;
  {
    std::lock_guard lock(m_mutex);
    for (size_t lane = 0; lane < data.size(); ++lane) {
      // Guest-controlled: offset and width; lanes at or beyond kI8042Size are ignored.
      if (offset < kI8042Size && lane < kI8042Size - offset) {
        reset |= write_port(offset + lane, data[lane]) == Effect::reset;
      }
    }
    if (reset) ++m_reset_requests;
  }
  if (reset && m_on_reset) m_on_reset();
}

uint64_t I8042::reset_requests() const {
  std::lock_guard lock(m_mutex);
  return m_reset_requests;
}

uint8_t I8042::read_port(uint64_t port_offset) {
  if (port_offset == kI8042CommandOffset) return status();
  if (port_offset != kI8042DataOffset) return 0;
  m_output_full = false;
  return m_output;
}

I8042::Effect I8042::write_port(uint64_t port_offset, uint8_t value) {
  if (port_offset == kI8042CommandOffset) {
    m_last_write_was_command = true;
    return write_command(value);
  }
  if (port_offset != kI8042DataOffset) return Effect::none;
  m_last_write_was_command = false;
  return write_data(value);
}

I8042::Effect I8042::write_command(uint8_t command) {
  m_pending_command = takes_data_byte(command) ? command : 0;
  switch (command) {
    case kCmdReadCtr:
      put_output(m_command_byte, Source::keyboard);
      break;
    case kCmdAuxDisable:
      m_command_byte = set_bits(m_command_byte, kCtrAuxDisable);
      break;
    case kCmdAuxEnable:
      m_command_byte = clear_bits(m_command_byte, kCtrAuxDisable);
      break;
    case kCmdAuxTest:
      put_output(kAuxTestNoPort, Source::keyboard);
      break;
    case kCmdSelfTest:
      m_command_byte = set_bits(m_command_byte, kCtrSystemFlag);
      put_output(kSelfTestPassed, Source::keyboard);
      break;
    case kCmdKbdTest:
      put_output(kInterfaceTestPassed, Source::keyboard);
      break;
    case kCmdKbdDisable:
      m_command_byte = set_bits(m_command_byte, kCtrKbdDisable);
      break;
    case kCmdKbdEnable:
      m_command_byte = clear_bits(m_command_byte, kCtrKbdDisable);
      break;
    case kCmdReadOutputPort:
      put_output(m_output_port, Source::keyboard);
      break;
    default:
      // Guest-controlled: any other command. 0xf0-0xff pulse output lines for a moment; an even
      // command pulses bit 0, the reset line. The rest are accepted and have no effect.
      if (command >= kCmdPulseFirst && !(command & kOutputPortResetLine)) return Effect::reset;
      break;
  }
  return Effect::none;
}

I8042::Effect I8042::write_data(uint8_t value) {
  const uint8_t command = m_pending_command;
  m_pending_command = 0;
  switch (command) {
    case kCmdWriteCtr:
      m_command_byte = value;
      break;
    case kCmdWriteOutputPort:
      m_output_port = value;
      // Guest-controlled: the new output port; bit 0 low holds the CPU in reset.
      if (!(value & kOutputPortResetLine)) return Effect::reset;
      break;
    case kCmdKbdLoop:
      put_output(value, Source::keyboard);
      break;
    case kCmdAuxLoop:
      put_output(kAuxLoopNoPort, Source::aux);
      break;
    default:
      break;  // a byte for the keyboard or mouse, neither of which exists
  }
  return Effect::none;
}

uint8_t I8042::status() const {
  uint8_t status = kStatusNotInhibited;
  if (m_output_full) status |= kStatusOutputFull;
  if (m_output_full && m_output_source == Source::aux) status |= kStatusAuxData;
  if (m_command_byte & kCtrSystemFlag) status |= kStatusSystemFlag;
  if (m_last_write_was_command) status |= kStatusCommand;
  return status;
}

void I8042::put_output(uint8_t value, Source source) {
  m_output = value;
  m_output_full = true;
  m_output_source = source;
}

}  // namespace minivmm
