// Implementation of the public JSON config functions (include/minivmm/config_json.hpp) on top of
// the shared field list (config_fields.hpp) and the strict reader and writer. The "cli" key
// belongs to the minivmm command (vmm/cli/run_config.hpp), which removes it before calling in
// here; the library rejects it like any unknown key, with a hint.
#include <minivmm/config_json.hpp>

#include "vmm/config/config_fields.hpp"
#include "vmm/config/json_reader.hpp"
#include "vmm/config/json_writer.hpp"
#include "vmm/config/machine_json.hpp"

namespace minivmm {

namespace json {

Result<void> merge_machine_config(MachineConfig& config, const nlohmann::json& value) {
  if (!value.is_object()) return type_error("config", "a JSON object", value);
  if (value.contains("cli"))
    return make_error(ErrorCode::invalid_config,
                      "cli: unknown key (the \"cli\" object is read only by the minivmm command)");
  MachineConfig merged = config;
  MINIVMM_TRY_VOID(read_object(value, "", merged));
  config = std::move(merged);
  return {};
}

nlohmann::ordered_json machine_config_json(const MachineConfig& config) {
  return write_value(config);
}

}  // namespace json

Result<MachineConfig> machine_config_from_json(std::string_view text) {
  MachineConfig config;
  MINIVMM_TRY_VOID(merge_machine_config_json(config, text));
  return config;
}

Result<void> merge_machine_config_json(MachineConfig& config, std::string_view text) {
  MINIVMM_TRY(value, json::parse_json_text(text));
  return json::merge_machine_config(config, value);
}

std::string machine_config_to_json(const MachineConfig& config) {
  return json::machine_config_json(config).dump(2);
}

}  // namespace minivmm
