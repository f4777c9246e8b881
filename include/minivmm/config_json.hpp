// The JSON form of MachineConfig (schema in include/minivmm/CONFIG.md, installed with the headers),
// shared by `minivmm run --config`,
// `--print-config` and the C API, so every front end describes a machine the same way. Parsing is
// strict: an unknown key or a value of the wrong type or range is an error that names the key by
// its path ("disks[1].read_only: expected a boolean"). Callbacks have no JSON form.
#pragma once

#include <string>
#include <string_view>

#include <minivmm/export.h>
#include <minivmm/config.hpp>
#include <minivmm/error.hpp>

namespace minivmm {

/// Parses a JSON object into a MachineConfig; keys not present keep MachineConfig's defaults.
/// Errors: invalid_config naming the key path, or the JSON syntax error with its byte offset.
/// Only the JSON is checked here; Machine::create still validates the result as a whole.
MINIVMM_API Result<MachineConfig> machine_config_from_json(std::string_view json);

/// Applies a JSON object on top of `config` (keys present replace fields; arrays replace whole
/// lists). Same errors as machine_config_from_json; on error `config` is unchanged.
MINIVMM_API Result<void> merge_machine_config_json(MachineConfig& config, std::string_view json);

/// The effective config as pretty-printed JSON (every key, defaults included), which
/// machine_config_from_json reads back to an equal config.
MINIVMM_API std::string machine_config_to_json(const MachineConfig& config);

}  // namespace minivmm
