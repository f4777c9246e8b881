// HandshakeParser: a byte-at-a-time state machine over the CONNECT line, so a prefix that can no
// longer become a valid line is refused immediately and the line length is bounded.
#include "devices/vsock/vsock_handshake.hpp"

namespace minivmm::vsock {

namespace {

constexpr char kKeyword[] = "connect";
constexpr size_t kKeywordLen = sizeof(kKeyword) - 1;
constexpr size_t kMaxDigits = 10;
constexpr uint64_t kMaxPort = 0xFFFF'FFFEull;  // 0xFFFFFFFF is VMADDR_PORT_ANY

bool is_space(uint8_t c) {
  return c == ' ' || c == '\t';
}
bool is_digit(uint8_t c) {
  return c >= '0' && c <= '9';
}
uint8_t to_lower(uint8_t c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<uint8_t>(c - 'A' + 'a') : c;
}

}  // namespace

bool HandshakeParser::step(uint8_t c) noexcept {
  switch (m_phase) {
    case Phase::lead:
      if (is_space(c)) return true;
      m_phase = Phase::keyword;
      [[fallthrough]];
    case Phase::keyword:
      if (to_lower(c) != static_cast<uint8_t>(kKeyword[m_keyword_pos])) return false;
      if (++m_keyword_pos == kKeywordLen) m_phase = Phase::gap;
      return true;
    case Phase::gap:
      if (is_space(c)) {
        ++m_gap_spaces;
        return true;
      }
      // At least one space must separate the keyword from the port.
      if (!is_digit(c) || m_gap_spaces == 0) return false;
      m_phase = Phase::digits;
      [[fallthrough]];
    case Phase::digits:
      if (is_digit(c)) {
        if (++m_digits > kMaxDigits) return false;
        m_port = m_port * 10 + (c - '0');
        return m_port <= kMaxPort;
      }
      m_phase = Phase::trail;
      [[fallthrough]];
    case Phase::trail:
      if (is_space(c)) return true;
      if (c != '\r') return false;
      m_phase = Phase::cr;
      return true;
    case Phase::cr:
      return false;  // only the newline (handled by feed) may follow '\r'
  }
  return false;
}

HandshakeStep HandshakeParser::feed(std::span<const uint8_t> bytes) noexcept {
  HandshakeStep s;
  s.status = m_status;
  if (m_status == HandshakeStatus::done) s.port = static_cast<uint32_t>(m_port);
  if (m_status != HandshakeStatus::need_more) return s;
  for (uint8_t c : bytes) {
    ++s.consumed;
    // The host program is not trusted either: the line has a fixed cap.
    if (++m_line_len > kMaxLine) {
      m_status = HandshakeStatus::invalid;
      break;
    }
    if (c == '\n') {
      const bool complete =
          m_phase == Phase::digits || m_phase == Phase::trail || m_phase == Phase::cr;
      m_status = complete ? HandshakeStatus::done : HandshakeStatus::invalid;
      break;
    }
    if (!step(c)) {
      m_status = HandshakeStatus::invalid;
      break;
    }
  }
  s.status = m_status;
  if (m_status == HandshakeStatus::done) s.port = static_cast<uint32_t>(m_port);
  return s;
}

}  // namespace minivmm::vsock
