// The byte and file-descriptor transport of vhost-user on a Unix stream socket: connecting to a
// path with a deadline, sending one message (header + payload in one sendmsg, fds as SCM_RIGHTS
// with its first byte) and receiving one (exactly the header, then exactly header.size payload
// bytes, collecting any fds into owned descriptors). Every wait is a poll() bounded by a Deadline,
// so a dead or stuck peer produces an error, never a hang; a peer that announces more than
// kMaxPayload bytes or attaches more than kMaxFds descriptors is refused (the kernel closes
// descriptors that do not fit). It knows nothing of request semantics (vhost_user_frontend.hpp).
// Errors carry only the inner context ("timed out after 5000 ms"); callers prefix the peer and
// request.
#pragma once

#include <chrono>
#include <span>
#include <string>
#include <vector>

#include "devices/vhost_user/vhost_user_message.hpp"
#include "vmm/sys/error.hpp"
#include "vmm/sys/unique_fd.hpp"

namespace minivmm::vhost_user {

/// A point in time after which waits fail with ErrorCode::timeout, plus the budget it came from
/// (for the message: "timed out after 5000 ms").
class Deadline {
 public:
  explicit Deadline(std::chrono::milliseconds budget)
      : m_budget(budget), m_end(std::chrono::steady_clock::now() + budget) {}
  /// Milliseconds left for poll(), rounded up, 0 once expired.
  int remaining_ms() const noexcept;
  bool expired() const noexcept { return std::chrono::steady_clock::now() >= m_end; }
  std::chrono::milliseconds budget() const noexcept { return m_budget; }

 private:
  std::chrono::milliseconds m_budget;
  std::chrono::steady_clock::time_point m_end;
};

/// A received message and the descriptors that came with it (closed when dropped).
struct Received {
  Message message;
  std::vector<UniqueFd> fds;
};

/// Connects a SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC socket to `path`. A listener that exists
/// but is not accepting yet (ECONNREFUSED, EAGAIN: the window between bind() and listen(), or a
/// full backlog) is retried until the deadline; a missing path fails at once.
/// Errors: invalid_config (path longer than sun_path, or not a socket), errno errors, timeout.
Result<UniqueFd> connect_unix(const std::string& path, const Deadline& deadline);

/// Sends `m` with `fds` (at most kMaxFds) attached. MSG_NOSIGNAL: a closed peer is an EPIPE
/// error, never SIGPIPE. Errors: errno errors, timeout, invalid_config (too many fds).
Result<void> send_message(int sock, const Message& m, std::span<const int> fds,
                          const Deadline& deadline);

/// Receives one message. Errors: "connection closed" (EOF before a header, errno ECONNRESET),
/// "truncated" (EOF inside a message), "payload of N bytes exceeds 264" (the rest is not read),
/// "more than 8 file descriptors attached", errno errors, timeout.
Result<Received> recv_message(int sock, const Deadline& deadline);

/// True when bytes (or EOF) are waiting to be read right now (non-blocking MSG_PEEK).
/// `eof` is set when the peer closed the connection.
bool readable_now(int sock, bool& eof) noexcept;

}  // namespace minivmm::vhost_user
