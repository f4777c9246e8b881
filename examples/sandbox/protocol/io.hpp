// Small POSIX helpers both ends of the sandbox protocol use: an owning fd, a write loop that
// survives EINTR and short writes, and O_NONBLOCK. No protocol knowledge.
#pragma once

#include <string_view>
#include <utility>

namespace sandbox {

/// Owns one file descriptor; closes it on destruction. -1 means none.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) noexcept : m_fd(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : m_fd(std::exchange(o.m_fd, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.m_fd, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const noexcept { return m_fd; }
  explicit operator bool() const noexcept { return m_fd >= 0; }
  void reset(int fd = -1) noexcept;

 private:
  int m_fd = -1;
};

/// Writes all of `data` (blocking fds; a non-blocking fd is waited on with poll). Uses send with
/// MSG_NOSIGNAL on sockets so a closed peer is an error, not SIGPIPE. False on any error (errno).
bool write_all(int fd, std::string_view data);
/// Sets or clears O_NONBLOCK; false on error.
bool set_nonblocking(int fd, bool on = true);

}  // namespace sandbox
