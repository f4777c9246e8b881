// Implementation of `minivmm run` option registration and translation.
#include "vmm/cli/run_options.hpp"

#include <unistd.h>

namespace minivmm::cli {

void add_run_options(CLI::App& app, RunOptions& o) {
  app.add_option("--kernel", o.kernel, "vmlinux (ELF, PVH or 64-bit entry) or bzImage")->required();
  app.add_option("--initrd", o.initrd, "initramfs image");
  app.add_option("--cmdline", o.cmdline, "kernel command line")->capture_default_str();
  app.add_option("--vcpus", o.vcpus, "number of vCPUs")->capture_default_str();
  app.add_option("--memory", o.memory_mib, "guest memory in MiB")->capture_default_str();
  app.add_option("--console", o.console, "guest serial console: stdio, none or file:PATH")
      ->capture_default_str();
  app.add_option("--log-level", o.log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
}

Result<ConsoleConfig> parse_console(const std::string& spec) {
  ConsoleConfig c;
  if (spec == "stdio") {
    c.output = ConsoleConfig::Output::stdio;
    // Forward typed input only from a terminal; a script's stdin is not meant for the guest.
    c.stdin_input = ::isatty(STDIN_FILENO) == 1;
  } else if (spec == "none") {
    c.output = ConsoleConfig::Output::none;
  } else if (spec.rfind("file:", 0) == 0 && spec.size() > 5) {
    c.output = ConsoleConfig::Output::file;
    c.path = spec.substr(5);
  } else {
    return make_error(ErrorCode::invalid_config,
                      "--console: '{}' is not one of stdio, none, file:PATH", spec);
  }
  return c;
}

Result<MachineConfig> to_machine_config(const RunOptions& o) {
  MachineConfig m;
  m.kernel_path = o.kernel;
  m.initrd_path = o.initrd;
  m.cmdline = o.cmdline;
  m.vcpus = o.vcpus;
  m.memory_mib = o.memory_mib;
  MINIVMM_TRY(console, parse_console(o.console));
  m.console = std::move(console);
  return m;
}

}  // namespace minivmm::cli
