// One connection to the agent (PROTOCOL.md "Session"): HELLO exchange, then either SHUTDOWN or
// RUN; for RUN the command is spawned and its stdout/stderr, stdin, signals and exit status are
// relayed over the connection until it exits. Runs on its own thread; the host's bytes are
// untrusted but bounded (frame limit, bounded stdin buffering).
#pragma once

#include <functional>

#include "examples/sandbox/agent/child_registry.hpp"

namespace sandbox {

/// Serves connection `fd` (takes ownership) to the end. `request_shutdown` is called for a
/// SHUTDOWN request.
void serve_connection(int fd, ChildRegistry& registry,
                      const std::function<void()>& request_shutdown);

}  // namespace sandbox
