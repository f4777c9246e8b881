// Implementation of `minivmm run` option registration and translation.
#include "vmm/cli/run_options.hpp"

#include <unistd.h>

#include "vmm/cli/device_options.hpp"
#include "vmm/sys/error.hpp"

namespace minivmm::cli {

void add_run_options(CLI::App& app, RunOptions& o) {
  app.add_option("--config", o.config,
                 "read the VM's configuration from this JSON file (include/minivmm/CONFIG.md); "
                 "options given here override it");
  app.add_flag("--print-config", o.print_config,
               "print the effective configuration as JSON (a valid --config file) and exit");
  app.add_option("--kernel", o.kernel,
                 "vmlinux (ELF, PVH or 64-bit entry) or bzImage (required unless --config "
                 "names kernel_path)");
  app.add_option("--initrd", o.initrd, "initramfs image");
  app.add_option("--cmdline", o.cmdline, "kernel command line")->capture_default_str();
  app.add_option("--vcpus", o.vcpus, "number of vCPUs")->capture_default_str();
  app.add_option("--memory", o.memory_mib, "guest memory in MiB")->capture_default_str();
  app.add_option("--console", o.console, "guest serial console: stdio, none or file:PATH")
      ->capture_default_str();
  app.add_option(
      "--disk", o.disks,
      "virtio-blk disk from a raw image: PATH[,ro][,serial=ID] (repeatable: vda, vdb...)");
  app.add_option("--rootfs", o.rootfs,
                 "boot from this raw image as the first disk: PATH[,ro] (adds root=/dev/vda)");
  app.add_option("--net", o.nets,
                 "virtio-net NIC on a tap: tap=NAME[,mac=MAC][,mtu=N] (created if missing) or "
                 "fd=N[,...] (an inherited tap fd); repeatable: eth0, eth1...");
  app.add_option("--vsock", o.vsock,
                 "virtio-vsock with the hybrid Unix-socket host side: cid=N,uds=PATH");
  app.add_option("--fs", o.fs, "virtio-fs from a running vhost-user backend: tag=TAG,socket=PATH");
  app.add_option("--share", o.shares,
                 "virtio-fs share of a host directory through a virtiofsd minivmm starts: "
                 "tag=TAG,dir=DIR[,ro]");
  app.add_option("--rootfs-dir", o.rootfs_dir,
                 "boot from this host directory over virtio-fs (rootfstype=virtiofs root=rootfs)");
  app.add_option("--virtiofsd", o.virtiofsd, "virtiofsd binary for --share and --rootfs-dir")
      ->capture_default_str();
  app.add_flag("--boot-timing{text}", o.boot_timing,
               "at exit, print when each start phase and boot-timer marker happened: text (stderr, "
               "the default) or json (one line on stdout); --boot-timing=json");
  app.add_option("--exit-on-marker", o.exit_on_marker,
                 "stop the VM (exit 0) when the guest writes this value (0..255) to the boot-timer "
                 "port 0x440");
  app.add_option("--log-level", o.log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.parse_complete_callback([&app, &o] {
    o.given.clear();
    for (const CLI::Option* opt : app.get_options())
      if (opt->count() > 0) o.given.insert(opt->get_name());
  });
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

Result<DiskConfig> parse_disk(const std::string& spec, const char* option) {
  DiskConfig d;
  size_t start = 0;
  bool first = true;
  while (start <= spec.size()) {
    size_t comma = spec.find(',', start);
    std::string part =
        spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (first) {
      d.path = part;
    } else if (part == "ro") {
      d.read_only = true;
    } else if (part.rfind("serial=", 0) == 0 && std::string(option) == "--disk") {
      d.serial = part.substr(7);
    } else {
      return make_error(ErrorCode::invalid_config, "{}: unknown option '{}' in '{}'", option, part,
                        spec);
    }
    first = false;
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (d.path.empty())
    return make_error(ErrorCode::invalid_config, "{}: '{}' has no path", option, spec);
  return d;
}

Result<MachineConfig> to_machine_config(const RunOptions& o) {
  MachineConfig m;
  m.kernel_path = o.kernel;
  m.initrd_path = o.initrd;
  m.cmdline = o.cmdline;
  m.vcpus = o.vcpus;
  m.memory_mib = o.memory_mib;
  if (!o.rootfs.empty()) {
    MINIVMM_TRY(root, parse_disk(o.rootfs, "--rootfs"));
    root.root = true;
    m.disks.push_back(std::move(root));
  }
  for (const auto& spec : o.disks) {
    MINIVMM_TRY(disk, parse_disk(spec, "--disk"));
    m.disks.push_back(std::move(disk));
  }
  for (const auto& spec : o.nets) {
    MINIVMM_TRY(net, parse_net(spec));
    m.nets.push_back(std::move(net));
  }
  if (!o.vsock.empty()) {
    MINIVMM_TRY(vsock, parse_vsock(o.vsock));
    m.vsock = std::move(vsock);
  }
  for (const auto& spec : o.fs) {
    MINIVMM_TRY(fs, parse_fs(spec));
    m.fs.push_back(std::move(fs));
  }
  if (!o.rootfs_dir.empty()) m.shares.push_back({"rootfs", o.rootfs_dir, false, true, {}});
  for (const auto& spec : o.shares) {
    MINIVMM_TRY(share, parse_share(spec));
    m.shares.push_back(std::move(share));
  }
  for (auto& share : m.shares) share.virtiofsd_path = o.virtiofsd;
  MINIVMM_TRY(console, parse_console(o.console));
  m.console = std::move(console);
  return m;
}

}  // namespace minivmm::cli
