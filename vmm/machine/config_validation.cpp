// Implementation of configuration validation.
#include "vmm/machine/config_validation.hpp"

namespace minivmm {

Result<void> validate_config(const MachineConfig& c) {
  if (c.vcpus < 1 || c.vcpus > kMaxVcpus)
    return make_error(ErrorCode::invalid_config, "vcpus: {} is outside 1..{}", c.vcpus, kMaxVcpus);
  if (c.memory_mib < kMinMemoryMib || c.memory_mib > kMaxMemoryMib)
    return make_error(ErrorCode::invalid_config, "memory: {} MiB is outside {}..{} MiB",
                      c.memory_mib, kMinMemoryMib, kMaxMemoryMib);
  if (c.kernel_path.empty())
    return make_error(ErrorCode::invalid_config, "kernel: no kernel image given");
  if (c.console.output == ConsoleConfig::Output::file && c.console.path.empty())
    return make_error(ErrorCode::invalid_config, "console: file output needs a path");
  if (c.console.output == ConsoleConfig::Output::callback && !c.console.on_output)
    return make_error(ErrorCode::invalid_config, "console: callback output needs on_output");
  if (c.cmdline.find('\0') != std::string::npos)
    return make_error(ErrorCode::invalid_config, "cmdline: contains a NUL byte");
  return {};
}

}  // namespace minivmm
