// The options of `minivmm run` and their translation into a MachineConfig. Parsing of compound
// values (--console stdio|file:PATH|none) lives here so it can be unit-tested without a VM. How
// the options combine with a --config file is run_config.hpp's job; `given` tells it which
// options the command line named.
#pragma once

#include <CLI/CLI.hpp>
#include <set>
#include <string>
#include <vector>

#include <minivmm/machine.hpp>

namespace minivmm::cli {

struct RunOptions {
  std::string kernel;
  std::string initrd;
  std::string cmdline = "console=ttyS0 reboot=k panic=-1";
  uint32_t vcpus = 1;
  uint64_t memory_mib = 128;
  std::string console = "stdio";
  std::vector<std::string> disks;   ///< --disk PATH[,ro][,serial=ID], in order
  std::string rootfs;               ///< --rootfs PATH[,ro]
  std::vector<std::string> nets;    ///< --net tap=NAME[,mac=MAC][,mtu=N] | fd=N[,...], in order
  std::string vsock;                ///< --vsock cid=N,uds=PATH
  std::vector<std::string> fs;      ///< --fs tag=TAG,socket=PATH
  std::vector<std::string> shares;  ///< --share tag=TAG,dir=DIR[,ro]
  std::string rootfs_dir;           ///< --rootfs-dir DIR (a share tagged "rootfs", root=)
  std::string virtiofsd = "/usr/lib/qemu/virtiofsd";
  std::string log_level = "info";
  std::string boot_timing;     ///< --boot-timing[=text|json]; empty: off
  std::string exit_on_marker;  ///< --exit-on-marker VALUE; empty: off
  std::string config;          ///< --config FILE (JSON, include/minivmm/CONFIG.md)
  bool print_config = false;   ///< --print-config
  /// The long names ("--memory") of the options given on the command line; filled when the
  /// app's parse completes.
  std::set<std::string> given;
};

/// Registers the options on `app` (the `run` subcommand) and a parse-complete callback that
/// fills `opts.given`; both must outlive the parse.
void add_run_options(CLI::App& app, RunOptions& opts);

/// The machine described by the options alone, every option taken with its value or default
/// (the --config file is not read). Errors (invalid_config) name the option: "--console: expected
/// stdio, none or file:PATH".
Result<MachineConfig> to_machine_config(const RunOptions& opts);

/// Parses "PATH[,ro][,serial=ID]" (a --disk value; --rootfs allows only ",ro").
Result<DiskConfig> parse_disk(const std::string& spec, const char* option);

/// Parses a --console value into a ConsoleConfig.
Result<ConsoleConfig> parse_console(const std::string& spec);

}  // namespace minivmm::cli
