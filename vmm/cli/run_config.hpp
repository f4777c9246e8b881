// The effective configuration of `minivmm run`: MachineConfig's defaults, then the --config JSON
// file (include/minivmm/CONFIG.md), then every option given on the command line (scalars replace
// the file's value; a list option such as --disk replaces the file's whole list). The file may
// hold a "cli" object for the settings only the command has (RunSettings); the library's JSON
// functions reject that key, so it is taken out here first. No VM is created and /dev/kvm is
// not touched: --print-config stops after this.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <minivmm/config.hpp>

#include "vmm/cli/run_options.hpp"

namespace minivmm::cli {

/// The "cli" object of a config file: what only the minivmm command does with a machine.
struct RunSettings {
  std::string log_level = "info";   ///< trace, debug, info, warn, error, off
  std::string boot_timing = "off";  ///< off, text or json (--boot-timing)
  std::optional<uint8_t> exit_on_marker;
};

template <typename V>
void visit_fields(V& v, RunSettings& s) {
  v("log_level", s.log_level);
  v("boot_timing", s.boot_timing);
  v("exit_on_marker", s.exit_on_marker);
}

struct EffectiveRun {
  MachineConfig machine;
  RunSettings cli;
};

/// Why resolve_run refused: the message (one line, no "minivmm: " prefix) and the exit code:
/// kExitBadConfig for the file (unreadable, bad JSON, unknown key, wrong type) and for
/// validate_config under --print-config; kExitUsage for a bad option or a missing kernel.
struct RunFailure {
  int exit_code;
  std::string message;
};

/// Defaults, the --config file (if any), then the options in `opts.given`. A missing kernel in
/// both is an error. Under --print-config the result also passes validate_config.
tl::expected<EffectiveRun, RunFailure> resolve_run(const RunOptions& opts);

/// Applies a config file's text to `run`; errors start with `name` (the file's path).
Result<void> merge_config_text(EffectiveRun& run, std::string_view text, const std::string& name);

/// Applies the options named in `opts.given` on top of `run`.
Result<void> apply_command_line(EffectiveRun& run, const RunOptions& opts);

/// The --print-config text: the machine config plus "cli", itself a valid --config file.
std::string effective_config_json(const EffectiveRun& run);

}  // namespace minivmm::cli
