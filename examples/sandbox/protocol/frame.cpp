// Frame encoding and the bounded incremental decoder (see frame.hpp and PROTOCOL.md "Framing").
#include "examples/sandbox/protocol/frame.hpp"

#include <cstring>

namespace sandbox {

bool is_known_frame_type(uint8_t type) noexcept {
  return (type >= 1 && type <= 6) || (type >= 16 && type <= 20);
}

const char* to_string(FrameType t) noexcept {
  switch (t) {
    case FrameType::hello:
      return "HELLO";
    case FrameType::run:
      return "RUN";
    case FrameType::stdin_data:
      return "STDIN";
    case FrameType::stdin_eof:
      return "STDIN_EOF";
    case FrameType::signal:
      return "SIGNAL";
    case FrameType::shutdown:
      return "SHUTDOWN";
    case FrameType::started:
      return "STARTED";
    case FrameType::stdout_data:
      return "STDOUT";
    case FrameType::stderr_data:
      return "STDERR";
    case FrameType::exit:
      return "EXIT";
    case FrameType::error:
      return "ERROR";
  }
  return "?";
}

std::string encode_frame(FrameType type, std::string_view payload) {
  auto len = static_cast<uint32_t>(payload.size());
  std::string out(frame_header_size + payload.size(), '\0');
  for (size_t i = 0; i < 4; ++i) out[i] = static_cast<char>((len >> (8 * i)) & 0xff);
  out[4] = static_cast<char>(type);
  if (!payload.empty()) std::memcpy(out.data() + frame_header_size, payload.data(), payload.size());
  return out;
}

void FrameDecoder::feed(std::string_view bytes) {
  if (!m_error.empty()) return;
  // Drop consumed bytes before growing, so the buffer stays near one frame plus one read.
  if (m_pos > 0 && m_pos * 2 >= m_buf.size()) {
    m_buf.erase(0, m_pos);
    m_pos = 0;
  }
  m_buf.append(bytes);
}

std::optional<Frame> FrameDecoder::next() {
  if (!m_error.empty() || buffered() < frame_header_size) return std::nullopt;
  const auto* h = reinterpret_cast<const unsigned char*>(m_buf.data() + m_pos);
  uint32_t len = 0;
  for (size_t i = 0; i < 4; ++i) len |= static_cast<uint32_t>(h[i]) << (8 * i);
  // Peer-controlled: the length is checked against the limit before anything is kept for it,
  // and the type before the frame is handed on.
  if (len > m_limit) {
    m_error = "frame of " + std::to_string(len) + " bytes exceeds the limit of " +
              std::to_string(m_limit);
    return std::nullopt;
  }
  if (!is_known_frame_type(h[4])) {
    m_error = "unknown frame type " + std::to_string(h[4]);
    return std::nullopt;
  }
  if (buffered() - frame_header_size < len) return std::nullopt;
  Frame f{static_cast<FrameType>(h[4]), m_buf.substr(m_pos + frame_header_size, len)};
  m_pos += frame_header_size + len;
  if (m_pos == m_buf.size()) {
    m_buf.clear();
    m_pos = 0;
  }
  return f;
}

}  // namespace sandbox
