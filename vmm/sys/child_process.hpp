// ChildProcess: one helper process minivmm starts and must not leak (virtiofsd today). spawn()
// forks and execs an argv vector with descriptor hygiene (only stdin = /dev/null and stdout/stderr
// = a given fd or /dev/null survive exec), default signal dispositions and an empty signal mask,
// and optionally a new process group, a parent-death signal and a private mount namespace in
// which chosen paths are read-only. Exec failures are reported back through a close-on-exec pipe,
// so spawn() fails with the real errno. The owner can poll is_running(), terminate() with a
// timeout (SIGTERM, then SIGKILL) and always reaps: the destructor terminates, so no zombie and
// no orphan of its group is left behind. wait_for_path() waits for a file (a socket) the child
// creates, failing early with the child's exit status if it dies. It does not capture output or
// restart anything.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "vmm/sys/error.hpp"
#include "vmm/sys/unique_fd.hpp"

namespace minivmm {

enum class ProcessGroup {
  inherit,    ///< stay in minivmm's process group (terminal signals reach the child too)
  new_group,  ///< setpgid(0, 0): signals from terminate() reach the child's whole group
};

struct ChildOptions {
  /// argv[0] is the executable's path (no PATH search). Must not be empty.
  std::vector<std::string> argv;
  ProcessGroup group = ProcessGroup::new_group;
  /// Where stdout and stderr go; -1 means /dev/null. The descriptor is not taken over.
  int output_fd = -1;
  /// prctl(PR_SET_PDEATHSIG): sent to the child when the thread that spawned it exits (Linux
  /// ties it to the thread, so spawn from a thread that lives as long as the child). 0 = none.
  int parent_death_signal = 0;
  /// When non-empty, the child gets a private mount namespace (needs CAP_SYS_ADMIN) in which
  /// each path is bind-mounted onto itself read-only, recursively (mount_setattr; on kernels
  /// before 5.12 only the top mount), before exec. The rest of the tree is unchanged.
  std::vector<std::string> read_only_paths;
};

class ChildProcess {
 public:
  /// Starts the child. Errors: invalid_config (empty argv), errno errors of fork/pipe, and of the
  /// child's setup or exec ("exec /usr/bin/x: No such file or directory").
  static Result<ChildProcess> spawn(const ChildOptions& options);

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  /// terminate(kDestructorGrace): never leaves a zombie.
  ~ChildProcess();

  static constexpr std::chrono::milliseconds kDestructorGrace{2000};

  pid_t pid() const noexcept { return m_pid; }
  /// A pidfd (pidfd_open) for the child, or -1 when the kernel lacks it. Readable once the
  /// child has exited. Owned by this object; invalid after the child is reaped.
  int pidfd() const noexcept { return m_pidfd.get(); }
  /// False once the child has exited (it is reaped then, and exit_status() is set).
  bool is_running();
  /// The wait status (as from waitpid) once reaped.
  std::optional<int> exit_status() const noexcept { return m_status; }
  /// Waits up to `timeout` for the child to exit on its own and reaps it. Returns whether it did.
  bool wait_for_exit(std::chrono::milliseconds timeout);
  /// SIGTERM (to the group with ProcessGroup::new_group), up to `timeout` for an exit, then
  /// SIGKILL; reaps. Any stragglers of the group are SIGKILLed before the reap. Returns the
  /// wait status. A no-op returning the status when the child was already reaped.
  int terminate(std::chrono::milliseconds timeout);
  /// SIGKILL (to the group) and reap; returns the wait status.
  int kill();

 private:
  ChildProcess(pid_t pid, UniqueFd pidfd, bool own_group)
      : m_pid(pid), m_pidfd(std::move(pidfd)), m_own_group(own_group) {}
  void signal(int sig) noexcept;
  /// Waits (without reaping) until the child has exited or `timeout` passed.
  bool await_exit(std::chrono::milliseconds timeout) noexcept;
  int reap() noexcept;

  pid_t m_pid = -1;
  UniqueFd m_pidfd;
  bool m_own_group = false;
  std::optional<int> m_status;
};

/// "exited with status 1", "killed by signal 9 (Killed)".
std::string describe_wait_status(int status);

/// Waits until `path` exists (polling every few ms). With `child`, fails as soon as the child
/// exits ("virtiofsd exited with status 1 before creating /run/x.sock"). Errors: timeout,
/// invalid_state (the child died).
Result<void> wait_for_path(const std::string& path, std::chrono::milliseconds timeout,
                           ChildProcess* child = nullptr);

}  // namespace minivmm
