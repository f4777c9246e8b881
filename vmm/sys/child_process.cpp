// Implementation of ChildProcess. Between fork() and exec() the child of a multi-threaded parent
// may only make async-signal-safe calls, so everything it needs (argv pointers, path strings,
// /dev/null and output descriptors, the fd limit) is prepared before fork() and the child only
// issues system calls. A failing step writes {step, errno, index} to a close-on-exec pipe and
// _exit()s; the parent reads the pipe until EOF (exec succeeded) or a report.
#include "vmm/sys/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <thread>
#include <utility>

namespace minivmm {
namespace {

enum class Step : int { setpgid, pdeathsig, unshare, make_private, bind, read_only, dup2, exec };

struct Report {
  Step step;
  int err;
  int index;  ///< which read-only path, for bind/read_only
};

/// Everything the child uses, prepared before fork().
struct ChildSetup {
  std::vector<char*> argv;
  std::vector<const char*> ro_paths;
  int devnull = -1;
  int output = -1;  ///< a copy >= 3 of the output fd, or devnull
  int report_fd = -1;
  bool new_group = false;
  int death_signal = 0;
  pid_t parent = 0;
  int max_fd = 1024;
};

[[noreturn]] void child_fail(const ChildSetup& s, Step step, int index = 0) {
  Report r{step, errno, index};
  [[maybe_unused]] ssize_t n = ::write(s.report_fd, &r, sizeof r);
  ::_exit(127);
}

void child_read_only_paths(const ChildSetup& s) {
  if (::unshare(CLONE_NEWNS) < 0) child_fail(s, Step::unshare);
  // Nothing we mount may propagate back into the parent's namespace.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0)
    child_fail(s, Step::make_private);
  for (size_t i = 0; i < s.ro_paths.size(); ++i) {
    const char* p = s.ro_paths[i];
    int idx = static_cast<int>(i);
    if (::mount(p, p, nullptr, MS_BIND | MS_REC, nullptr) < 0) child_fail(s, Step::bind, idx);
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_RDONLY;
    if (::mount_setattr(AT_FDCWD, p, AT_RECURSIVE, &attr, sizeof attr) == 0) continue;
    if (errno != ENOSYS) child_fail(s, Step::read_only, idx);
    if (::mount(nullptr, p, nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) < 0)
      child_fail(s, Step::read_only, idx);
  }
}

[[noreturn]] void child_main(const ChildSetup& s) {
  if (s.new_group && ::setpgid(0, 0) < 0) child_fail(s, Step::setpgid);
  if (s.death_signal != 0) {
    if (::prctl(PR_SET_PDEATHSIG, s.death_signal) < 0) child_fail(s, Step::pdeathsig);
    if (::getppid() != s.parent) ::_exit(127);  // the parent is already gone
  }
  if (!s.ro_paths.empty()) child_read_only_paths(s);
  if (::dup2(s.devnull, 0) < 0 || ::dup2(s.output, 1) < 0 || ::dup2(s.output, 2) < 0)
    child_fail(s, Step::dup2);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  // Only 0, 1 and 2 survive exec.
  if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    for (int fd = 3; fd < s.max_fd; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  ::execv(s.argv[0], s.argv.data());
  child_fail(s, Step::exec);
}

std::string describe_step(const Report& r, const ChildOptions& o) {
  auto path = [&] {
    return r.index >= 0 && static_cast<size_t>(r.index) < o.read_only_paths.size()
               ? o.read_only_paths[static_cast<size_t>(r.index)]
               : std::string("?");
  };
  switch (r.step) {
    case Step::setpgid:
      return "setpgid";
    case Step::pdeathsig:
      return "prctl PR_SET_PDEATHSIG";
    case Step::unshare:
      return "unshare CLONE_NEWNS";
    case Step::make_private:
      return "mount --make-rprivate /";
    case Step::bind:
      return "bind-mount " + path();
    case Step::read_only:
      return "make read-only " + path();
    case Step::dup2:
      return "dup2";
    case Step::exec:
      return "exec " + o.argv[0];
  }
  return "?";
}

}  // namespace

Result<ChildProcess> ChildProcess::spawn(const ChildOptions& o) {
  if (o.argv.empty() || o.argv[0].empty())
    return make_error(ErrorCode::invalid_config, "spawn: empty argv");
  ChildSetup s;
  for (const std::string& a : o.argv) s.argv.push_back(const_cast<char*>(a.c_str()));
  s.argv.push_back(nullptr);
  for (const std::string& p : o.read_only_paths) s.ro_paths.push_back(p.c_str());
  UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!devnull) return errno_error("spawn {}: open /dev/null", o.argv[0]);
  UniqueFd output;
  if (o.output_fd >= 0) {
    output.reset(::fcntl(o.output_fd, F_DUPFD_CLOEXEC, 3));
    if (!output) return errno_error("spawn {}: dup output fd {}", o.argv[0], o.output_fd);
  }
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) < 0) return errno_error("spawn {}: pipe2", o.argv[0]);
  UniqueFd report_rd(pipe_fds[0]), report_wr(pipe_fds[1]);
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY)
    s.max_fd = static_cast<int>(std::min<rlim_t>(lim.rlim_cur, 1 << 20));
  s.devnull = devnull.get();
  s.output = output ? output.get() : devnull.get();
  s.report_fd = report_wr.get();
  s.new_group = o.group == ProcessGroup::new_group;
  s.death_signal = o.parent_death_signal;
  s.parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) return errno_error("spawn {}: fork", o.argv[0]);
  if (pid == 0) child_main(s);
  report_wr.reset();
  if (s.new_group) ::setpgid(pid, pid);  // also here, so the group exists when we return
  Report r{};
  ssize_t n;
  do {
    n = ::read(report_rd.get(), &r, sizeof r);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof r)) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return errno_error_value(r.err, "spawn {}: {}", o.argv[0], describe_step(r, o));
  }
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  return ChildProcess(pid, std::move(pidfd), s.new_group);
}

ChildProcess::ChildProcess(ChildProcess&& o) noexcept
    : m_pid(std::exchange(o.m_pid, -1)),
      m_pidfd(std::move(o.m_pidfd)),
      m_own_group(o.m_own_group),
      m_status(std::exchange(o.m_status, std::nullopt)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& o) noexcept {
  if (this != &o) {
    if (m_pid > 0 && !m_status) terminate(kDestructorGrace);
    m_pid = std::exchange(o.m_pid, -1);
    m_pidfd = std::move(o.m_pidfd);
    m_own_group = o.m_own_group;
    m_status = std::exchange(o.m_status, std::nullopt);
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (m_pid > 0 && !m_status) terminate(kDestructorGrace);
}

void ChildProcess::signal(int sig) noexcept {
  if (m_pid <= 0 || m_status) return;
  // The leader is not reaped yet, so neither its pid nor its group id can have been reused.
  ::kill(m_own_group ? -m_pid : m_pid, sig);
}

int ChildProcess::reap() noexcept {
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(m_pid, &status, 0);
  } while (r < 0 && errno == EINTR);
  m_status = r == m_pid ? status : -1;  // -1: reaped elsewhere (SIGCHLD ignored)
  m_pidfd.reset();
  return *m_status;
}

bool ChildProcess::is_running() {
  if (m_pid <= 0 || m_status) return false;
  int status = 0;
  pid_t r = ::waitpid(m_pid, &status, WNOHANG);
  if (r == 0) return true;
  m_status = r == m_pid ? status : -1;
  m_pidfd.reset();
  return false;
}

bool ChildProcess::await_exit(std::chrono::milliseconds timeout) noexcept {
  auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left =
        std::chrono::ceil<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    if (m_pidfd) {
      pollfd p{m_pidfd.get(), POLLIN, 0};
      int n = ::poll(&p, 1, left.count() > 0 ? static_cast<int>(left.count()) : 0);
      if (n > 0) return true;
      if (n == 0) return false;
      if (errno != EINTR) m_pidfd.reset();  // fall back to polling waitid
      continue;
    }
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(m_pid), &info, WEXITED | WNOHANG | WNOWAIT) < 0 ||
        info.si_pid == m_pid)
      return true;  // exited (or not our child any more)
    if (left.count() <= 0) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool ChildProcess::wait_for_exit(std::chrono::milliseconds timeout) {
  if (m_pid <= 0 || m_status) return true;
  if (!await_exit(timeout)) return false;
  reap();
  return true;
}

int ChildProcess::terminate(std::chrono::milliseconds timeout) {
  if (m_pid <= 0) return 0;
  if (m_status) return *m_status;
  signal(SIGTERM);
  if (!await_exit(timeout)) signal(SIGKILL);
  await_exit(std::chrono::hours(1));         // after SIGKILL; the reap below blocks anyway
  if (m_own_group) ::kill(-m_pid, SIGKILL);  // stragglers of the group (e.g. forked helpers)
  return reap();
}

int ChildProcess::kill() {
  if (m_pid <= 0) return 0;
  if (m_status) return *m_status;
  signal(SIGKILL);
  return reap();
}

std::string describe_wait_status(int status) {
  if (status == -1) return "was reaped elsewhere";
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return fmt::format("killed by signal {} ({})", WTERMSIG(status), ::strsignal(WTERMSIG(status)));
  return fmt::format("changed state ({:#x})", status);
}

Result<void> wait_for_path(const std::string& path, std::chrono::milliseconds timeout,
                           ChildProcess* child) {
  auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (::access(path.c_str(), F_OK) == 0) return {};
    if (child != nullptr && !child->is_running())
      return make_error(ErrorCode::invalid_state, "process {} {} before creating {}", child->pid(),
                        describe_wait_status(child->exit_status().value_or(-1)), path);
    if (std::chrono::steady_clock::now() >= end)
      return make_error(ErrorCode::timeout, "{} did not appear within {} ms", path,
                        timeout.count());
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace minivmm
