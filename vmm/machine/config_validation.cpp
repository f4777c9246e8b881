// Implementation of configuration validation.
#include "vmm/machine/config_validation.hpp"

namespace minivmm {

namespace {

Result<void> validate_disks(const std::vector<DiskConfig>& disks) {
  if (disks.size() > kMaxVirtioDevices)
    return make_error(ErrorCode::invalid_config, "disks: {} given, at most {}", disks.size(),
                      kMaxVirtioDevices);
  for (size_t i = 0; i < disks.size(); ++i) {
    const DiskConfig& d = disks[i];
    if (d.path.empty()) return make_error(ErrorCode::invalid_config, "disks[{}]: empty path", i);
    if (d.serial.size() > kMaxDiskSerial)
      return make_error(ErrorCode::invalid_config, "disks[{}].serial: {} bytes, at most {}", i,
                        d.serial.size(), kMaxDiskSerial);
    if (d.root && i != 0)
      return make_error(ErrorCode::invalid_config,
                        "disks[{}].root: only the first disk can be root", i);
    for (size_t j = 0; j < i; ++j)
      if (disks[j].path == d.path)
        return make_error(ErrorCode::invalid_config, "disks[{}]: {} is already disks[{}]", i,
                          d.path, j);
  }
  return {};
}

}  // namespace

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
  return validate_disks(c.disks);
}

}  // namespace minivmm
