// sandbox-run's side of the agent protocol (PROTOCOL.md): connecting through minivmm's hybrid
// vsock socket (`CONNECT 1024\n` -> `OK ...`) and the HELLO exchange, retried until the agent
// listens; then relaying one or more concurrent commands: stdin to the first, signals to all,
// their stdout/stderr to ours, until each has sent EXIT or ERROR. Every frame from the guest is
// hostile input: bounded by the decoder, validated by the message parsers, never trusted to end.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "examples/sandbox/protocol/frame.hpp"
#include "examples/sandbox/protocol/io.hpp"
#include "examples/sandbox/protocol/messages.hpp"

namespace sandbox {

using Clock = std::chrono::steady_clock;

/// A connection on which HELLO was exchanged.
struct AgentConnection {
  UniqueFd fd;
  FrameDecoder decoder;
};

/// Connects to the agent through `uds_path`, retrying every few milliseconds until `deadline`
/// while `alive()` holds (the machine still runs). Errors say what was last seen.
tl::expected<AgentConnection, std::string> connect_agent(const std::string& uds_path,
                                                         Clock::time_point deadline,
                                                         const std::function<bool()>& alive);

/// When things happened, for --timing (unset: never).
struct RelayTimes {
  Clock::time_point started{};       ///< the first STARTED frame
  Clock::time_point first_output{};  ///< the first STDOUT/STDERR frame
};

/// The local ends run_commands relays between.
struct RelayIo {
  int stdin_fd = 0;  ///< -1: the commands get STDIN_EOF at once
  int stdout_fd = 1;
  int stderr_fd = 2;
  int signal_fd = -1;  ///< a signalfd whose signals are forwarded to every command; -1: none
};

/// Sends one RUN per connection and relays until every command ended. With several
/// connections, output lines are prefixed "[i] " (i from 0) and only the first command gets
/// stdin (the others get STDIN_EOF at once). Returns sandbox-run's exit code: the first non-zero
/// command status in connection order (0 when all succeeded), 125 for a broken agent.
int run_commands(std::vector<AgentConnection>& conns, const std::vector<RunRequest>& requests,
                 const RelayIo& io, RelayTimes& times);

/// Connects and sends SHUTDOWN (the agent stops every command, syncs and reboots the guest).
bool send_shutdown(const std::string& uds_path, Clock::time_point deadline,
                   const std::function<bool()>& alive);

}  // namespace sandbox
