// The internal, parsed-value side of config_json.hpp, for callers that hold a JSON document with
// more than a MachineConfig in it: the CLI reads its --config file once, takes out its own "cli"
// object and hands the rest to merge_machine_config; --print-config adds "cli" back to
// machine_config_json.
#pragma once

#include <minivmm/config.hpp>
#include <minivmm/error.hpp>
#include <nlohmann/json.hpp>

namespace minivmm::json {

/// merge_machine_config_json on an already parsed value (must be an object). On error `config`
/// is unchanged.
Result<void> merge_machine_config(MachineConfig& config, const nlohmann::json& value);

/// machine_config_to_json as a value, keys in schema order.
nlohmann::ordered_json machine_config_json(const MachineConfig& config);

}  // namespace minivmm::json
