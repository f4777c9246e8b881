// HandshakeParser: the incremental parser of the one line a host program sends after connecting
// to the hybrid vsock Unix socket (the Firecracker / Cloud Hypervisor convention Kata's agent
// client speaks): `CONNECT <port>\n`, the keyword in any letter case (Kata's Go client sends
// "CONNECT", its Rust client "connect"), the port a decimal u32. Bytes may arrive split across any
// number of reads; the parser tells how many bytes of each chunk belonged to the line, so bytes the
// host sent after the newline stay with the caller. It does no I/O and knows no timeout (the
// muxer enforces handshake_timeout); it only accepts or refuses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace minivmm::vsock {

enum class HandshakeStatus {
  need_more,  ///< no complete line yet: feed more bytes
  done,       ///< a valid line ended; `port` is set
  invalid,    ///< malformed or longer than kMaxLine: close the socket
};

struct HandshakeStep {
  HandshakeStatus status = HandshakeStatus::need_more;
  /// Bytes of the chunk that belonged to the line (all of it unless status is done).
  size_t consumed = 0;
  uint32_t port = 0;  ///< valid when status is done
};

/// Grammar (whitespace is space or tab): `ws* CONNECT ws+ DIGITS ws* [\r] \n`, with at most
/// kMaxLine bytes including the newline, 1 to 10 digits, and a value of at most 0xFFFFFFFE
/// (0xFFFFFFFF is VMADDR_PORT_ANY). Garbage is refused as soon as it is seen.
class HandshakeParser {
 public:
  static constexpr size_t kMaxLine = 64;

  /// Consumes bytes up to and including the newline. After done or invalid, further calls return
  /// the same status (and port) and consume nothing.
  HandshakeStep feed(std::span<const uint8_t> bytes) noexcept;
  HandshakeStatus status() const noexcept { return m_status; }

 private:
  enum class Phase { lead, keyword, gap, digits, trail, cr };
  /// Advances the grammar by one byte; false when the byte is not allowed here.
  bool step(uint8_t c) noexcept;

  HandshakeStatus m_status = HandshakeStatus::need_more;
  Phase m_phase = Phase::lead;
  size_t m_line_len = 0;
  size_t m_keyword_pos = 0;
  size_t m_gap_spaces = 0;
  size_t m_digits = 0;
  uint64_t m_port = 0;
};

}  // namespace minivmm::vsock
