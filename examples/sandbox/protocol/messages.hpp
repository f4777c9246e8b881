// The payloads of the sandbox agent protocol (PROTOCOL.md "Messages"): HELLO, RUN (JSON), SIGNAL,
// STARTED, EXIT and ERROR, each with an encoder and a parser that validates sizes and values and
// returns an error string instead of throwing. Framing is in frame.hpp; nothing here does I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace sandbox {

template <typename T>
using Parsed = tl::expected<T, std::string>;

/// HELLO: "MVSB" + u32 LE version.
std::string encode_hello(uint32_t version);
Parsed<uint32_t> parse_hello(std::string_view payload);

/// What to run (RUN, JSON `{"argv": [...], "env": ["K=V", ...], "cwd": "/"}`).
struct RunRequest {
  std::vector<std::string> argv;  ///< argv[0] is looked up in the PATH of `env` without a '/'
  std::vector<std::string> env;   ///< the command's whole environment, "NAME=value" each
  std::string cwd = "/";
};

/// Limits a RUN request must respect (beyond the frame's max_payload).
inline constexpr size_t max_run_strings = 4096;  ///< argv entries, and env entries

std::string encode_run(const RunRequest& r);
/// Rejects malformed JSON, missing or empty argv, non-string entries, strings with NUL bytes, env
/// entries without '=', a relative or empty cwd, and more than max_run_strings entries.
Parsed<RunRequest> parse_run(std::string_view payload);

/// SIGNAL and STARTED carry one u32 LE.
std::string encode_u32(uint32_t v);
Parsed<uint32_t> parse_u32(std::string_view payload);
/// SIGNAL: the signal number to forward; 0 and numbers above 64 are refused.
Parsed<int> parse_signal(std::string_view payload);

/// EXIT: how the command ended.
struct ExitInfo {
  enum class Kind : uint8_t { exited = 0, signaled = 1 };
  Kind kind = Kind::exited;
  uint32_t value = 0;  ///< exit code 0..255 or signal number 1..64
};
std::string encode_exit(const ExitInfo& e);
Parsed<ExitInfo> parse_exit(std::string_view payload);
/// The shell convention sandbox-run exits with: the code, or 128 + the signal.
int exit_code_of(const ExitInfo& e) noexcept;

/// ERROR: the request failed before or instead of an EXIT.
enum class ErrorKind : uint8_t {
  protocol = 1,  ///< bad frame, bad HELLO or version mismatch; the agent closes the stream
  request = 2,   ///< RUN rejected (bad JSON, cwd missing, ...)
  exec = 3,      ///< the command could not be executed (errno: ENOENT, EACCES, ...)
  internal = 4,  ///< the agent failed (pipe, fork, ...)
};
struct ErrorInfo {
  ErrorKind kind = ErrorKind::internal;
  int32_t err = 0;  ///< errno, 0 when none applies
  std::string message;
};
/// Messages are cut to max_error_message bytes.
inline constexpr size_t max_error_message = 4096;
std::string encode_error(const ErrorInfo& e);
Parsed<ErrorInfo> parse_error(std::string_view payload);
/// sandbox-run's exit code for an ERROR: 127 for exec ENOENT (as a shell), 126 for other exec
/// failures, 125 for everything else (sandbox-run's own failures, like docker run).
int exit_code_of(const ErrorInfo& e) noexcept;

}  // namespace sandbox
