// Starting one command for a RUN request: checks the working directory, finds the executable in
// the request's PATH, makes the stdio pipes and posix_spawns the child in its own process group
// with default signal dispositions and an empty signal mask. Failures come back as the ERROR the
// agent sends (exec ENOENT -> the host exits 127). Relaying the pipes is session.hpp's.
#pragma once

#include <sys/types.h>

#include <string>

#include <tl/expected.hpp>

#include "examples/sandbox/agent/child_registry.hpp"
#include "examples/sandbox/protocol/io.hpp"
#include "examples/sandbox/protocol/messages.hpp"

namespace sandbox {

struct SpawnedCommand {
  pid_t pid = -1;      ///< also the process group id
  UniqueFd stdin_fd;   ///< write end of the child's stdin
  UniqueFd stdout_fd;  ///< read ends
  UniqueFd stderr_fd;
};

/// The path execve gets for argv0: itself when it contains '/', else the first regular,
/// executable file named argv0 in the PATH of `env` (the default PATH without one). Errors are
/// exec ENOENT (not found) or EACCES (found, not executable).
tl::expected<std::string, ErrorInfo> resolve_executable(const RunRequest& r);

/// Starts the command; `status_fd` receives its wait status through `registry`.
tl::expected<SpawnedCommand, ErrorInfo> spawn_command(const RunRequest& r, ChildRegistry& registry,
                                                      int status_fd);

}  // namespace sandbox
