// Shared pieces of minivmm-api-driver, the e2e program that exercises the public C++ API
// (include/minivmm/machine.hpp) inside the nested harness: option parsing, the `API-E2E key=value`
// report lines tests/e2e/scenarios_api.py parses, a per-machine console log fed by
// ConsoleConfig::Output::callback (timestamped lines, waits for a line), the state-change
// recorder, and helpers that turn an API Result into a value or a scenario failure. It decides
// nothing about pass or fail beyond "the scenario could not go on": the facts are printed and the
// Python check judges them.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <minivmm/machine.hpp>

namespace api_e2e {

/// A scenario cannot continue (an API call failed unexpectedly, the guest never got somewhere).
/// main() prints it as `API-E2E error=...` and exits 1.
struct ScenarioFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};
[[noreturn]] void fail(const std::string& what);

/// Milliseconds since the driver started (steady clock), for timestamps in the report.
double now_ms();
/// Prints `API-E2E key=value` as one line (thread-safe, flushed).
void report(std::string_view key, std::string_view value);
/// Prints one line as-is (thread-safe, flushed); used for relayed guest console lines.
void print_line(std::string_view line);

/// `--key value` pairs after the subcommand.
class Options {
 public:
  static Options parse(int argc, char** argv, int first);
  /// The value of --key; a ScenarioFailure names a missing one.
  const std::string& get(const std::string& key) const;

 private:
  std::map<std::string, std::string> m_values;
};

/// The guest serial console of one machine: split into lines, timestamped, relayed to stdout as
/// `[tag] line`, and searchable while the machine runs.
class ConsoleLog {
 public:
  struct Line {
    double t_ms;
    std::string text;
  };
  explicit ConsoleLog(std::string tag) : m_tag(std::move(tag)) {}
  /// The ConsoleConfig::on_output callback (runs on a vCPU thread).
  std::function<void(std::string_view)> sink();
  /// Waits until a complete line at index >= from contains `needle`; returns its index, or
  /// nullopt when `timeout` passed.
  std::optional<size_t> wait_line(std::string_view needle, std::chrono::milliseconds timeout,
                                  size_t from = 0);
  /// The first line at index >= from containing `needle`.
  std::optional<Line> find(std::string_view needle, size_t from = 0) const;
  std::vector<Line> lines() const;
  size_t line_count() const;
  uint64_t bytes() const;  ///< every byte received so far, complete lines or not

 private:
  void take(std::string_view bytes);

  std::string m_tag;
  mutable std::mutex m_mutex;
  std::condition_variable m_cv;
  std::string m_partial;
  std::vector<Line> m_lines;
  uint64_t m_bytes = 0;
};

/// Records on_state_change calls in order as "from>to" words.
class StateRecorder {
 public:
  std::function<void(minivmm::MachineState, minivmm::MachineState)> callback();
  /// "created>running,running>paused,..." once `last` was recorded or `timeout` passed.
  std::string sequence(minivmm::MachineState last, std::chrono::milliseconds timeout);

 private:
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::vector<std::pair<minivmm::MachineState, minivmm::MachineState>> m_changes;
};

/// The error's code as a short name: invalid_state, timeout, ... for minivmm's own codes, the
/// errno name (ENOENT, ENOBUFS) for system ones; "ok" for success.
std::string code_name(const minivmm::Error& e);
template <typename T>
std::string code_name(const minivmm::Result<T>& r) {
  return r ? "ok" : code_name(r.error());
}

/// The value of `r`, or a ScenarioFailure naming `what` and the error.
template <typename T>
T value_or_fail(minivmm::Result<T> r, std::string_view what) {
  if (!r) fail(std::string(what) + ": " + r.error().message());
  if constexpr (!std::is_void_v<T>) return std::move(*r);
}

/// A config booting the e2e guest (kernel + initramfs from the options) with
/// `e2e.script=SCRIPT` and `extra` on the cmdline and its console going to `console`.
minivmm::MachineConfig guest_config(const Options& options, std::string_view script,
                                    ConsoleLog& console, std::string_view extra = {});
std::unique_ptr<minivmm::Machine> create_machine(const minivmm::MachineConfig& config);
/// Waits up to `limit` for the machine to stop; on timeout stops it hard and fails.
minivmm::ExitStatus wait_exit(minivmm::Machine& machine, std::chrono::milliseconds limit,
                              std::string_view what);
/// Waits for a guest console line containing `needle` or fails naming it.
size_t expect_line(ConsoleLog& console, std::string_view needle, std::chrono::milliseconds limit,
                   size_t from = 0);
/// The metrics snapshot as JSON on one line.
std::string metrics_json(const minivmm::Machine& machine);
/// The enumerator's name ("guest_reset", ...): to_string(ExitReason) is for humans.
std::string reason_name(minivmm::ExitReason reason);
/// "a,b,c" of the numbers.
std::string join(const std::vector<pid_t>& values);

}  // namespace api_e2e
