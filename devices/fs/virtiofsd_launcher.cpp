// Implementation of the virtiofsd launcher: option checks with errors that name the path, the
// command line of the C virtiofsd (QEMU 7.2 `--help`: --socket-path, -o source=, -o sandbox=,
// -o cache=, -o log_level=, --thread-pool-size), and the ChildProcess options (own process group,
// parent-death signal, read-only bind of the shared directory for read-only shares).
#include "devices/fs/virtiofsd_launcher.hpp"

#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <fstream>

#include "devices/fs/fs_device.hpp"

namespace minivmm::fs {
namespace {

/// fuse_opt splits -o values on ',' and takes '\' as an escape; escape both.
std::string escape_fuse_opt(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == ',' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

const char* cache_name(VirtiofsdCache c) {
  switch (c) {
    case VirtiofsdCache::automatic:
      return "auto";
    case VirtiofsdCache::always:
      return "always";
    case VirtiofsdCache::none:
      return "none";
  }
  return "auto";
}

Result<void> check_options(const VirtiofsdOptions& o, const std::string& socket) {
  MINIVMM_TRY_VOID(validate_fs_tag(o.tag));
  struct stat st {};
  if (::stat(o.binary.c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
      ::access(o.binary.c_str(), X_OK) != 0)
    return make_error(ErrorCode::invalid_config, "virtiofsd {} is missing or not executable",
                      o.binary);
  if (o.shared_dir.empty() || ::stat(o.shared_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return make_error(ErrorCode::invalid_config,
                      "virtio-fs {}: shared directory '{}' is not an existing directory", o.tag,
                      o.shared_dir);
  if (o.runtime_dir.empty() || ::stat(o.runtime_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return make_error(ErrorCode::invalid_config,
                      "virtio-fs {}: runtime directory '{}' is not an existing directory", o.tag,
                      o.runtime_dir);
  if (socket.size() >= sizeof(sockaddr_un::sun_path))
    return make_error(ErrorCode::invalid_config, "virtio-fs {}: socket path {} is too long", o.tag,
                      socket);
  if (::access(socket.c_str(), F_OK) == 0)
    return make_error(ErrorCode::invalid_config, "virtio-fs {}: socket path {} already exists",
                      o.tag, socket);
  if (o.log_level != "debug" && o.log_level != "info" && o.log_level != "warn" &&
      o.log_level != "err")
    return make_error(ErrorCode::invalid_config, "virtiofsd log level '{}'", o.log_level);
  return {};
}

}  // namespace

std::string virtiofsd_socket_path(const VirtiofsdOptions& o) {
  std::string name;
  for (char c : o.tag) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
    name += plain ? c : '_';
  }
  return o.runtime_dir + "/virtiofsd-" + name + ".sock";
}

std::vector<std::string> virtiofsd_command(const VirtiofsdOptions& o) {
  return {o.binary,
          "--socket-path=" + virtiofsd_socket_path(o),
          "-o",
          "source=" + escape_fuse_opt(o.shared_dir),
          "-o",
          "sandbox=namespace",
          "-o",
          std::string("cache=") + cache_name(o.cache),
          "-o",
          "log_level=" + o.log_level,
          "--thread-pool-size=" + std::to_string(o.thread_pool_size)};
}

Result<VirtiofsdProcess> VirtiofsdProcess::launch(const VirtiofsdOptions& o) {
  std::string socket = virtiofsd_socket_path(o);
  MINIVMM_TRY_VOID(check_options(o, socket));
  ChildOptions c;
  c.argv = virtiofsd_command(o);
  c.group = ProcessGroup::new_group;
  c.output_fd = o.log_fd;
  c.parent_death_signal = o.die_with_parent ? SIGKILL : 0;
  if (o.read_only) c.read_only_paths.push_back(o.shared_dir);
  auto child = ChildProcess::spawn(c);
  if (!child) return tl::unexpected(with_context(child.error(), "virtio-fs " + o.tag));
  if (auto w = wait_for_path(socket, o.start_timeout, &*child); !w)
    return tl::unexpected(with_context(w.error(), "virtio-fs " + o.tag + ": virtiofsd"));
  return VirtiofsdProcess(std::move(*child), std::move(socket));
}

VirtiofsdProcess& VirtiofsdProcess::operator=(VirtiofsdProcess&& o) noexcept {
  if (this != &o) {
    stop();
    m_child = std::move(o.m_child);
    m_socket = std::exchange(o.m_socket, {});
  }
  return *this;
}

VirtiofsdProcess::~VirtiofsdProcess() {
  stop();
}

std::string virtiofsd_pid_file(const std::string& socket_path) {
  std::string name = socket_path;
  std::replace(name.begin(), name.end(), '/', '.');
  return std::string(kVirtiofsdStateDir) + "/" + name + ".pid";
}

void VirtiofsdProcess::remove_socket() noexcept {
  // virtiofsd leaves its lock file behind; remove it when it still names our (reaped) process.
  if (!m_socket.empty()) {
    std::string pid_file = virtiofsd_pid_file(m_socket);
    std::ifstream in(pid_file);
    pid_t pid = 0;
    if (in >> pid && pid == m_child.pid()) ::unlink(pid_file.c_str());
  }
  // Once only: a later daemon for the same tag may own the path by the next call.
  if (!m_socket.empty()) ::unlink(m_socket.c_str());
  m_socket.clear();
}

int VirtiofsdProcess::stop(std::chrono::milliseconds grace) {
  int status = m_child.terminate(grace);
  remove_socket();
  return status;
}

int VirtiofsdProcess::kill() {
  int status = m_child.kill();
  remove_socket();
  return status;
}

}  // namespace minivmm::fs
