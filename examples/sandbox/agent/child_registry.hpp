// The agent's table of the commands it started: as PID 1 it reaps every process (orphans too)
// with waitpid(-1) on one thread, and hands the wait status of a command to the session that
// started it by writing it into that session's status pipe. Spawning happens under the table's
// lock, so a child that exits at once is never reaped before it is registered.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <mutex>

namespace sandbox {

class ChildRegistry {
 public:
  /// Runs `spawn` under the lock; a returned pid > 0 is registered with `status_fd` (the write
  /// end of a pipe that receives the int wait status when the child is reaped).
  pid_t spawn_registered(const std::function<pid_t()>& spawn, int status_fd);
  /// Reaps every exited child (WNOHANG); registered ones get their status written. Called by
  /// the main thread on SIGCHLD.
  void reap();
  /// Forgets a pid without waiting (its session ends without needing the status).
  void forget(pid_t pid);

 private:
  std::mutex m_mutex;
  std::map<pid_t, int> m_status_fds;
};

}  // namespace sandbox
