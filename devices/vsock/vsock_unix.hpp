// The Unix-socket mechanics of the hybrid vsock host side: UnixListener, the listening socket at
// uds_path (replacing a stale socket file, refusing to replace anything else, unlinking its own
// file and nothing else on destruction), and connect_unix, the non-blocking connect to
// `uds_path_<port>` for guest-initiated connections. No protocol and no event loop here
// (vsock_muxer.hpp); all descriptors are non-blocking and close-on-exec.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "vmm/sys/error.hpp"
#include "vmm/sys/unique_fd.hpp"

namespace minivmm::vsock {

/// The longest uds_path such that `uds_path + "_" + <any u32 port>` still fits sun_path with its
/// terminating NUL.
size_t max_uds_path_length() noexcept;

/// `uds_path + "_" + port`, where a host program listens for guest port `port`.
std::string port_path(const std::string& uds_path, uint32_t port);

class UnixListener {
 public:
  /// Creates a non-blocking SOCK_STREAM socket bound at `path` and listening with `backlog`.
  /// A socket file already at `path` is unlinked first. Errors: invalid_config when the path is
  /// empty or too long for sun_path, or exists and is not a socket ("vsock uds PATH exists and
  /// is not a socket"); errno errors from socket/bind/listen.
  static Result<UnixListener> bind(const std::string& path, int backlog);

  UnixListener(UnixListener&&) noexcept = default;
  UnixListener& operator=(UnixListener&&) noexcept;
  /// Unlinks the socket file if it is still the one this listener created.
  ~UnixListener();

  int fd() const noexcept { return m_fd.get(); }
  const std::string& path() const noexcept { return m_path; }

 private:
  UnixListener(UniqueFd fd, std::string path, dev_t dev, ino_t ino)
      : m_fd(std::move(fd)), m_path(std::move(path)), m_dev(dev), m_ino(ino) {}
  void unlink_own_file() noexcept;

  UniqueFd m_fd;
  std::string m_path;
  dev_t m_dev = 0;
  ino_t m_ino = 0;
};

/// Non-blocking connect to the Unix stream socket at `path`. On failure returns an invalid
/// UniqueFd and sets `err` (ENOENT, ECONNREFUSED, EAGAIN when the backlog is full, ...); a Unix
/// connect never stays in progress, so success means connected.
UniqueFd connect_unix(const std::string& path, int& err) noexcept;

}  // namespace minivmm::vsock
