// posix_spawn of a RUN request's command (spawn.hpp). posix_spawn (vfork-based in glibc) reports
// exec failures as its return value, so no error pipe is needed, and it is safe to call from the
// agent's many threads, unlike fork followed by non-async-signal-safe code.
#include "examples/sandbox/agent/spawn.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <vector>

namespace sandbox {
namespace {

constexpr const char* default_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

tl::unexpected<ErrorInfo> failure(ErrorKind kind, int err, std::string what) {
  if (err != 0) what += std::string(": ") + std::strerror(err);
  return tl::unexpected(ErrorInfo{kind, err, std::move(what)});
}

std::vector<char*> c_strings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

struct Pipe {
  UniqueFd read, write;
};

bool make_pipe(Pipe& p) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  p.read.reset(fds[0]);
  p.write.reset(fds[1]);
  return true;
}

}  // namespace

tl::expected<std::string, ErrorInfo> resolve_executable(const RunRequest& r) {
  const std::string& name = r.argv[0];
  if (name.find('/') != std::string::npos) return name;
  std::string path = default_path;
  for (const auto& e : r.env)
    if (e.starts_with("PATH=")) path = e.substr(5);
  bool found_not_executable = false;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t end = path.find(':', pos);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(pos, end - pos);
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
      found_not_executable = true;
    }
    pos = end + 1;
  }
  if (found_not_executable) return failure(ErrorKind::exec, EACCES, name);
  return failure(ErrorKind::exec, ENOENT, name + ": command not found");
}

tl::expected<SpawnedCommand, ErrorInfo> spawn_command(const RunRequest& r, ChildRegistry& registry,
                                                      int status_fd) {
  struct stat st {};
  if (::stat(r.cwd.c_str(), &st) != 0) return failure(ErrorKind::request, errno, "cwd " + r.cwd);
  if (!S_ISDIR(st.st_mode)) return failure(ErrorKind::request, ENOTDIR, "cwd " + r.cwd);
  auto exe = resolve_executable(r);
  if (!exe) return tl::unexpected(exe.error());

  Pipe in, out, err;
  if (!make_pipe(in) || !make_pipe(out) || !make_pipe(err))
    return failure(ErrorKind::internal, errno, "pipe2");
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_adddup2(&fa, in.read.get(), 0);
  posix_spawn_file_actions_adddup2(&fa, out.write.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, err.write.get(), 2);
  posix_spawn_file_actions_addchdir_np(&fa, r.cwd.c_str());
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  auto argv = c_strings(r.argv);
  auto envp = c_strings(r.env);
  int spawn_err = 0;
  pid_t pid = registry.spawn_registered(
      [&]() -> pid_t {
        pid_t child = -1;
        spawn_err = ::posix_spawn(&child, exe->c_str(), &fa, &attr, argv.data(), envp.data());
        return spawn_err == 0 ? child : -1;
      },
      status_fd);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (pid < 0) return failure(ErrorKind::exec, spawn_err, r.argv[0]);
  SpawnedCommand c;
  c.pid = pid;
  c.stdin_fd = std::move(in.write);
  c.stdout_fd = std::move(out.read);
  c.stderr_fd = std::move(err.read);
  return c;
}

}  // namespace sandbox
