// The framing of the sandbox agent protocol (PROTOCOL.md): every message on a vsock stream is a
// 5-byte header (payload length as u32 little-endian, then a type byte) followed by the payload.
// This file owns the frame types, the encoder and an incremental decoder that bounds every size
// and rejects unknown types; it knows nothing about payload contents (messages.hpp) or sockets.
// Both ends treat the peer's bytes as hostile: the decoder never allocates more than its limit
// and never crashes on any input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sandbox {

/// The protocol version this build speaks (HELLO). Bump on any incompatible change.
inline constexpr uint32_t protocol_version = 1;
/// The vsock port the agent listens on.
inline constexpr uint32_t agent_port = 1024;
/// Largest payload either side sends or accepts: a RUN request (argv + env) or a data chunk.
inline constexpr uint32_t max_payload = 1u << 20;
/// Largest STDIN/STDOUT/STDERR chunk a sender puts in one frame.
inline constexpr size_t max_data_chunk = 32 * 1024;
inline constexpr size_t frame_header_size = 5;

enum class FrameType : uint8_t {
  // host -> agent
  hello = 1,  ///< "MVSB" + u32 version; the first frame each way
  run = 2,    ///< JSON RunRequest
  stdin_data = 3,
  stdin_eof = 4,  ///< empty
  signal = 5,     ///< u32 signal number, sent to the command's process group
  shutdown = 6,   ///< empty: stop every command, sync, power off the sandbox
  // agent -> host
  started = 16,  ///< u32 pid of the command
  stdout_data = 17,
  stderr_data = 18,
  exit = 19,   ///< u8 kind (0 exited, 1 killed by a signal) + u32 code or signal
  error = 20,  ///< u8 ErrorKind + i32 errno (0: none) + UTF-8 message
};

/// A type byte this protocol version defines, for either direction.
bool is_known_frame_type(uint8_t type) noexcept;
const char* to_string(FrameType t) noexcept;

struct Frame {
  FrameType type;
  std::string payload;
};

/// The bytes of one frame. Precondition: payload.size() <= max_payload.
std::string encode_frame(FrameType type, std::string_view payload);

/// Turns a byte stream into frames. feed() appends received bytes; next() returns the next
/// complete frame, nullopt when more bytes are needed, and once an error is set (oversized
/// length, unknown type) returns nullopt forever: the stream cannot be resynchronized.
class FrameDecoder {
 public:
  explicit FrameDecoder(uint32_t limit = max_payload) : m_limit(limit) {}

  void feed(std::string_view bytes);
  std::optional<Frame> next();
  /// Why decoding stopped; empty while the stream is fine.
  const std::string& error() const noexcept { return m_error; }
  /// Bytes received but not yet returned as a frame (a truncated frame at EOF).
  size_t buffered() const noexcept { return m_buf.size() - m_pos; }

 private:
  uint32_t m_limit;
  std::string m_buf;
  size_t m_pos = 0;  // start of the first unconsumed byte in m_buf
  std::string m_error;
};

}  // namespace sandbox
