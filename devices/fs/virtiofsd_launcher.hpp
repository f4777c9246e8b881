// Launching the vhost-user backend of a virtio-fs share: the C virtiofsd of QEMU 7.2
// (/usr/lib/qemu/virtiofsd on Debian 12). It owns the policy of how virtiofsd runs: the command
// line (socket in a caller-provided private runtime directory, -o source=DIR, the namespace
// sandbox, a cache policy, a small thread pool), the checks made before anything starts (binary
// executable, DIR an existing directory, runtime directory present, socket path free and short
// enough), how read-only shares are enforced, and waiting for the socket. This virtiofsd has no
// read-only option, so a read-only share is made read-only by the kernel: virtiofsd starts in a
// private mount namespace where DIR is a read-only recursive bind mount of itself (its sandbox
// keeps that mount's flags when it pivots into DIR), and every write returns EROFS. The process
// itself is a ChildProcess; the vhost-user protocol is FsDevice's.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "vmm/sys/child_process.hpp"
#include "vmm/sys/error.hpp"

namespace minivmm::fs {

inline constexpr const char* kDefaultVirtiofsd = "/usr/lib/qemu/virtiofsd";

/// virtiofsd -o cache=: auto (close-to-open, the default), always (trust the guest's cache:
/// fastest, for trees only the guest changes), none (no caching: host changes visible at once).
enum class VirtiofsdCache { automatic, always, none };

struct VirtiofsdOptions {
  std::string binary = kDefaultVirtiofsd;
  /// The share's tag (validate_fs_tag), used to name the socket.
  std::string tag;
  /// The directory to share.
  std::string shared_dir;
  bool read_only = false;
  /// A private directory owned by the caller (mode 0700); the socket is created in it as
  /// virtiofsd-<tag>.sock and removed when the process is stopped.
  std::string runtime_dir;
  VirtiofsdCache cache = VirtiofsdCache::automatic;
  /// Worker threads per queue (--thread-pool-size); 0 processes requests on the queue thread.
  /// Default 0: with a pool, Debian 12's virtiofsd (QEMU 7.2 + GLib 2.74) is killed by its own
  /// seccomp filter under load, because GLib's pool-spawner thread calls sched_getaffinity,
  /// which the filter does not allow (seen in the e2e harness: audit type=1326 comm="pool"
  /// syscall=204 sig=31, then the guest's reads fail with ENOTCONN).
  unsigned thread_pool_size = 0;
  /// Where virtiofsd's stdout and stderr go; -1 means /dev/null.
  int log_fd = -1;
  /// virtiofsd -o log_level= (debug, info, warn, err).
  std::string log_level = "warn";
  /// How long to wait for the socket to appear.
  std::chrono::milliseconds start_timeout{5000};
  /// SIGKILL virtiofsd when the thread that called launch() exits (PR_SET_PDEATHSIG), so a
  /// crashed VMM leaves no daemon behind. Launch from a thread that lives as long as the VM.
  bool die_with_parent = true;
};

/// The socket path launch() uses: runtime_dir/virtiofsd-<tag with characters other than
/// [A-Za-z0-9._-] replaced by '_'>.sock.
std::string virtiofsd_socket_path(const VirtiofsdOptions& o);
/// Where the C virtiofsd keeps its per-socket lock file (qemu_get_local_state_pathname).
inline constexpr const char* kVirtiofsdStateDir = "/var/run/virtiofsd";
/// The lock file virtiofsd writes for `socket_path`: kVirtiofsdStateDir/<path, '/' -> '.'>.pid.
std::string virtiofsd_pid_file(const std::string& socket_path);
/// The argv launch() executes (argv[0] = o.binary).
std::vector<std::string> virtiofsd_command(const VirtiofsdOptions& o);

/// A running virtiofsd. Destroying it stops it (SIGTERM, then SIGKILL after 2 s), reaps it and
/// removes the socket and virtiofsd's lock file.
class VirtiofsdProcess {
 public:
  /// Checks the options, starts virtiofsd and waits until its socket exists (it may still be
  /// between bind() and listen(); VhostUserFrontend::connect retries that). Errors
  /// (invalid_config) name the offending path: a binary that is missing or not executable, a
  /// shared_dir that is not an existing directory, a missing runtime_dir, a socket path that
  /// exists already or exceeds 107 bytes; spawn errors; "process N exited with status 1 before
  /// creating ..." when virtiofsd dies at startup; timeout.
  static Result<VirtiofsdProcess> launch(const VirtiofsdOptions& options);

  VirtiofsdProcess(VirtiofsdProcess&& o) noexcept
      : m_child(std::move(o.m_child)), m_socket(std::exchange(o.m_socket, {})) {}
  VirtiofsdProcess& operator=(VirtiofsdProcess&&) noexcept;
  ~VirtiofsdProcess();

  const std::string& socket_path() const noexcept { return m_socket; }
  pid_t pid() const noexcept { return m_child.pid(); }
  bool is_running() { return m_child.is_running(); }
  /// SIGTERM, up to `grace` for the exit, SIGKILL; reaps; removes the socket. Returns the wait
  /// status (describe_wait_status()).
  int stop(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));
  /// SIGKILL and reap at once (for FsDeviceOptions::on_error: the daemon must no longer touch
  /// guest memory before the VMM takes its queues over).
  int kill();

 private:
  VirtiofsdProcess(ChildProcess child, std::string socket)
      : m_child(std::move(child)), m_socket(std::move(socket)) {}
  void remove_socket() noexcept;

  ChildProcess m_child;
  std::string m_socket;
};

}  // namespace minivmm::fs
