// Reaping and status hand-off of the agent's children (child_registry.hpp).
#include "examples/sandbox/agent/child_registry.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace sandbox {

pid_t ChildRegistry::spawn_registered(const std::function<pid_t()>& spawn, int status_fd) {
  std::lock_guard lock(m_mutex);
  pid_t pid = spawn();
  if (pid > 0) m_status_fds[pid] = status_fd;
  return pid;
}

void ChildRegistry::reap() {
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno == EINTR) continue;
    if (pid <= 0) return;
    std::lock_guard lock(m_mutex);
    auto it = m_status_fds.find(pid);
    if (it == m_status_fds.end()) continue;  // an orphan the agent inherited as PID 1
    // A pipe holds 4 bytes without blocking; the session reads them once.
    [[maybe_unused]] auto n = ::write(it->second, &status, sizeof status);
    m_status_fds.erase(it);
  }
}

void ChildRegistry::forget(pid_t pid) {
  std::lock_guard lock(m_mutex);
  m_status_fds.erase(pid);
}

}  // namespace sandbox
