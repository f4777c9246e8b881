// UnixListener and connect_unix: sockaddr_un construction with an explicit length check, the
// stale-socket replacement, and the inode check that keeps the destructor from unlinking a file
// someone else put at the path later.
#include "devices/vsock/vsock_unix.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>

namespace minivmm::vsock {

namespace {

constexpr size_t kSunPathSize = sizeof(sockaddr_un::sun_path);
constexpr size_t kPortSuffix = 11;  // "_" and up to 10 decimal digits

std::optional<sockaddr_un> make_address(const std::string& path) noexcept {
  sockaddr_un a{};
  if (path.empty() || path.size() >= kSunPathSize || path.find('\0') != std::string::npos) {
    return std::nullopt;
  }
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.data(), path.size());
  return a;
}

}  // namespace

size_t max_uds_path_length() noexcept {
  return kSunPathSize - 1 - kPortSuffix;
}

std::string port_path(const std::string& uds_path, uint32_t port) {
  return uds_path + "_" + std::to_string(port);
}

Result<UnixListener> UnixListener::bind(const std::string& path, int backlog) {
  if (path.empty() || path.size() > max_uds_path_length() || path.find('\0') != std::string::npos) {
    return make_error(ErrorCode::invalid_config,
                      "vsock uds path '{}' is empty or longer than {} bytes", path,
                      max_uds_path_length());
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return make_error(ErrorCode::invalid_config, "vsock uds {} exists and is not a socket", path);
    }
    if (::unlink(path.c_str()) != 0) return errno_error("vsock: unlink stale socket {}", path);
  } else if (errno != ENOENT) {
    return errno_error("vsock: lstat {}", path);
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("vsock: socket(AF_UNIX)");
  sockaddr_un addr = *make_address(path);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    return errno_error("vsock: bind {}", path);
  }
  if (::lstat(path.c_str(), &st) != 0) return errno_error("vsock: lstat {}", path);
  UnixListener l(std::move(fd), path, st.st_dev, st.st_ino);
  if (::listen(l.fd(), backlog) != 0) return errno_error("vsock: listen {}", path);
  return l;
}

UnixListener& UnixListener::operator=(UnixListener&& o) noexcept {
  if (this != &o) {
    unlink_own_file();
    m_fd = std::move(o.m_fd);
    m_path = std::exchange(o.m_path, std::string());
    m_dev = o.m_dev;
    m_ino = o.m_ino;
  }
  return *this;
}

UnixListener::~UnixListener() {
  unlink_own_file();
}

void UnixListener::unlink_own_file() noexcept {
  if (!m_fd || m_path.empty()) return;
  struct stat st {};
  if (::lstat(m_path.c_str(), &st) == 0 && st.st_dev == m_dev && st.st_ino == m_ino) {
    ::unlink(m_path.c_str());
  }
  m_fd.reset();
}

UniqueFd connect_unix(const std::string& path, int& err) noexcept {
  err = 0;
  auto addr = make_address(path);
  if (!addr) {
    err = ENAMETOOLONG;
    return {};
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    err = errno;
    return {};
  }
  int r;
  do {
    r = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr);
  } while (r != 0 && errno == EINTR);
  if (r != 0) {
    err = errno;
    return {};
  }
  return fd;
}

}  // namespace minivmm::vsock
