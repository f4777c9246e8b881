// I8042: the controller command set as Linux's drivers/input/serio/i8042.c uses it. Every command
// that the driver waits on gets its answer at once, so no probe step runs into the driver's 500 ms
// command timeout: self-test 0xaa -> 0x55, keyboard test 0xab -> 0x00, the command byte reads
// back stably, and the AUX probe (loop 0xd3, test 0xa9) fails immediately, reporting no mouse.
// Keyboard commands (drivers/input/keyboard/atkbd.c through libps2) are ACKed at once and their
// answers arrive with IRQ 1, so atkbd's probe (GET ID, set LEDs, enable) never times out.
// Command codes follow the IBM PC/AT 8042 interface; Linux's names are given beside them.
#include "devices/legacy/i8042.hpp"

#include <algorithm>
#include <initializer_list>
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
constexpr uint8_t kCtrKbdInt = 0x01;      // I8042_CTR_KBDINT: IRQ 1 on keyboard output
constexpr uint8_t kCtrSystemFlag = 0x04;  // I8042_CTR_SYSFLAG
constexpr uint8_t kCtrKbdDisable = 0x10;  // I8042_CTR_KBDDIS
constexpr uint8_t kCtrAuxDisable = 0x20;  // I8042_CTR_AUXDIS
constexpr uint8_t kCtrTranslate = 0x40;   // I8042_CTR_XLATE: set 2 -> set 1 translation
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

// Keyboard commands (atkbd.c ATKBD_CMD_*) and answers.
constexpr uint8_t kKbdSetLeds = 0xed;
constexpr uint8_t kKbdEcho = 0xee;
constexpr uint8_t kKbdScanSet = 0xf0;  // GSCANSET/SSCANSET: parameter 0 asks for the set
constexpr uint8_t kKbdGetId = 0xf2;
constexpr uint8_t kKbdSetRepeat = 0xf3;
constexpr uint8_t kKbdReset = 0xff;  // RESET_BAT
constexpr uint8_t kKbdAck = 0xfa;
constexpr uint8_t kKbdBatOk = 0xaa;
constexpr uint8_t kKbdIdFirst = 0xab;
constexpr uint8_t kKbdIdSecond = 0x83;            // 0xab83: a standard MF2 keyboard
constexpr uint8_t kKbdIdSecondTranslated = 0x41;  // what the 8042 turns 0x83 into
constexpr uint8_t kKbdSet2 = 0x02;
constexpr uint8_t kKbdSet2Translated = 0x41;

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

I8042::I8042(ResetCallback on_reset, RaiseIrq raise_irq)
    : m_on_reset(std::move(on_reset)),
      m_raise_irq(std::move(raise_irq)),
      m_command_byte(kCtrDefault),
      m_output_port(kOutputPortDefault) {}

void I8042::read(uint64_t offset, std::span<uint8_t> data) {
  bool irq = false;
  {
    std::lock_guard lock(m_mutex);
    for (size_t lane = 0; lane < data.size(); ++lane) {
      // Guest-controlled: offset and width; a lane exists only below kI8042Size (overflow-safe).
      const bool in_window = offset < kI8042Size && lane < kI8042Size - offset;
      data[lane] = in_window ? read_port(offset + lane) : kFloatingBus;
    }
    irq = std::exchange(m_irq_due, false);
  }
  if (irq) raise();
}

void I8042::write(uint64_t offset, std::span<const uint8_t> data) {
  bool reset = false;
  bool irq = false;
  {
    std::lock_guard lock(m_mutex);
    for (size_t lane = 0; lane < data.size(); ++lane) {
      // Guest-controlled: offset and width; lanes at or beyond kI8042Size are ignored.
      if (offset < kI8042Size && lane < kI8042Size - offset) {
        reset |= write_port(offset + lane, data[lane]) == Effect::reset;
      }
    }
    if (reset) ++m_reset_requests;
    irq = std::exchange(m_irq_due, false);
  }
  if (irq) raise();
  if (reset && m_on_reset) m_on_reset();
}

uint64_t I8042::reset_requests() const {
  std::lock_guard lock(m_mutex);
  return m_reset_requests;
}

uint64_t I8042::interrupts() const {
  std::lock_guard lock(m_mutex);
  return m_interrupts;
}

void I8042::raise() {
  {
    std::lock_guard lock(m_mutex);
    ++m_interrupts;
  }
  if (m_raise_irq) m_raise_irq();
}

bool I8042::trigger_ctrl_alt_del() {
  bool queued;
  bool irq;
  {
    std::lock_guard lock(m_mutex);
    // Press Ctrl, Alt, Delete (an extended key), then release them in reverse order.
    if (translating())
      queued = put_keyboard({0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d}, true);
    else
      queued =
          put_keyboard({0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14}, true);
    irq = std::exchange(m_irq_due, false);
  }
  if (irq) raise();
  return queued;
}

uint8_t I8042::read_port(uint64_t port_offset) {
  if (port_offset == kI8042CommandOffset) return status();
  if (port_offset != kI8042DataOffset) return 0;
  const uint8_t value = m_output;
  m_output_full = false;
  // One byte per interrupt (Linux's i8042_interrupt reads one): the next gets its own edge.
  refill_output();
  return value;
}

void I8042::refill_output() {
  if (m_output_full || m_keyboard.empty()) return;
  m_output = m_keyboard.front();
  m_keyboard.pop_front();
  m_output_full = true;
  m_output_source = Source::keyboard;
  m_irq_due |= keyboard_irq_due();
}

bool I8042::translating() const {
  return (m_command_byte & kCtrTranslate) != 0;
}

bool I8042::keyboard_irq_due() const {
  return m_output_full && m_output_source == Source::keyboard && (m_command_byte & kCtrKbdInt) != 0;
}

bool I8042::put_keyboard(std::initializer_list<uint8_t> bytes, bool all) {
  const size_t room = kKeyboardQueueSize - std::min(m_keyboard.size(), kKeyboardQueueSize);
  if (all && bytes.size() > room) return false;
  size_t n = 0;
  for (uint8_t b : bytes) {
    // Guest-controlled: how many commands are sent without reading answers; the queue is bounded.
    if (n++ == room) break;
    m_keyboard.push_back(b);
  }
  refill_output();
  return true;
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
      // Enabling the interrupt with a keyboard byte waiting raises it (level seen as an edge).
      m_irq_due |= keyboard_irq_due();
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
    case kCmdAuxSend:
      break;  // a byte for the mouse, which does not exist
    default:
      write_keyboard(value);
      break;
  }
  return Effect::none;
}

// A byte for the keyboard. Everything is acknowledged: the commands atkbd uses either take no
// answer beyond the ACK or get it here, and parameter bytes (LEDs, typematic rate, scan set)
// are ACKed like commands, as a PS/2 keyboard does.
void I8042::write_keyboard(uint8_t value) {
  const uint8_t command = std::exchange(m_keyboard_command, 0);
  if (command == kKbdScanSet) {
    // Guest-controlled: the scan-set parameter; 0 asks which set is in use, others are ACKed.
    if (value == 0)
      put_keyboard({kKbdAck, translating() ? kKbdSet2Translated : kKbdSet2});
    else
      put_keyboard({kKbdAck});
    return;
  }
  if (command != 0) {
    put_keyboard({kKbdAck});
    return;
  }
  switch (value) {
    case kKbdSetLeds:
    case kKbdSetRepeat:
    case kKbdScanSet:
      m_keyboard_command = value;
      put_keyboard({kKbdAck});
      break;
    case kKbdEcho:
      put_keyboard({kKbdEcho});
      break;
    case kKbdGetId:
      put_keyboard({kKbdAck, kKbdIdFirst, translating() ? kKbdIdSecondTranslated : kKbdIdSecond});
      break;
    case kKbdReset:
      put_keyboard({kKbdAck, kKbdBatOk});
      break;
    default:
      put_keyboard({kKbdAck});
      break;
  }
}

uint8_t I8042::status() const {
  uint8_t status = kStatusNotInhibited;
  if (m_output_full) status |= kStatusOutputFull;
  if (m_output_full && m_output_source == Source::aux) status |= kStatusAuxData;
  if (m_command_byte & kCtrSystemFlag) status |= kStatusSystemFlag;
  if (m_last_write_was_command) status |= kStatusCommand;
  return status;
}

// A controller answer goes straight into the output buffer, where Linux polls for it
// (i8042_command), so it raises no interrupt. A keyboard byte it displaces goes back to the head
// of the keyboard's queue instead of being lost.
void I8042::put_output(uint8_t value, Source source) {
  if (m_output_full && m_output_source == Source::keyboard) {
    if (m_keyboard.size() >= kKeyboardQueueSize) m_keyboard.pop_back();
    m_keyboard.push_front(m_output);
  }
  m_output = value;
  m_output_full = true;
  m_output_source = source;
}

}  // namespace minivmm
