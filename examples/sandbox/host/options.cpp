// sandbox-run option parsing with CLI11 (options.hpp). CLI11 stops at the first non-option word
// (prefix_command), so `sandbox-run --rootfs-dir R /bin/sh -c X` works with or without `--`.
#include "examples/sandbox/host/options.hpp"

#include <CLI/CLI.hpp>

namespace sandbox {
namespace {

ParseOutcome error(std::string text) {
  ParseOutcome o;
  o.text = std::move(text);
  return o;
}

void add_options(CLI::App& app, Options& o) {
  app.add_option("--kernel", o.kernel,
                 "guest kernel (vmlinux or bzImage); default $MINIVMM_KERNEL");
  app.add_option("--rootfs-dir", o.rootfs_dir, "host directory served by virtiofsd as the root");
  app.add_option("--rootfs", o.rootfs, "ext4 image as the root (/dev/vda)");
  app.add_flag("--read-only", o.read_only, "mount the root read-only");
  app.add_option("--memory", o.memory_mib, "guest memory in MiB (default 256)");
  app.add_option("--vcpus", o.vcpus, "vCPUs (default 1)");
  app.add_flag("--timing", o.timing, "print the time from launch to the first output on stderr");
  app.add_option("--agent", o.agent, "the static minivmm-agent (default: next to sandbox-run)");
  app.add_option("--virtiofsd", o.virtiofsd, "virtiofsd binary for --rootfs-dir");
  app.add_option("--console", o.console, "append the guest console to this file");
  app.add_option("-e,--env", o.env, "NAME=VALUE for the command's environment (repeatable)");
  app.add_option("-w,--workdir", o.workdir, "the command's working directory (default /)");
  app.add_option("--parallel", o.parallel,
                 "run N instances of the command concurrently, output lines prefixed [i]");
  app.add_option("--boot-timeout", o.boot_timeout_s,
                 "seconds to wait for the agent to listen (default 60)");
}

// The checks CLI11 cannot express; empty when the options are usable.
std::string check(const Options& o) {
  if (o.command.empty()) return "no command given (sandbox-run [OPTIONS] -- CMD ARGS...)";
  if (o.rootfs_dir.empty() == o.rootfs.empty())
    return "give exactly one of --rootfs-dir DIR and --rootfs IMG";
  if (o.kernel.empty()) return "no guest kernel: pass --kernel or set MINIVMM_KERNEL";
  if (o.memory_mib < 32 || o.memory_mib > (1u << 20))
    return "--memory " + std::to_string(o.memory_mib) + ": expected 32..1048576 MiB";
  if (o.vcpus < 1 || o.vcpus > 64) return "--vcpus " + std::to_string(o.vcpus) + ": expected 1..64";
  if (o.parallel < 1 || o.parallel > 64)
    return "--parallel " + std::to_string(o.parallel) + ": expected 1..64";
  if (o.boot_timeout_s < 1 || o.boot_timeout_s > 3600)
    return "--boot-timeout " + std::to_string(o.boot_timeout_s) + ": expected 1..3600 seconds";
  if (o.workdir.empty() || o.workdir[0] != '/')
    return "--workdir " + o.workdir + ": not an absolute path";
  for (const auto& e : o.env)
    if (e.find('=') == std::string::npos || e[0] == '=')
      return "--env " + e + ": expected NAME=VALUE";
  return {};
}

}  // namespace

ParseOutcome parse_options(int argc, const char* const* argv, const char* env_kernel,
                           const std::string& self_dir) {
  CLI::App app{
      "Run a command in a minivmm sandbox: boots a microVM with the agent as init, runs\n"
      "CMD through it over vsock, relays stdio and signals, exits with CMD's status.\n"
      "Own errors exit 125; a command that cannot be executed 126 (127: not found).",
      "sandbox-run"};
  Options o;
  add_options(app, o);
  app.prefix_command(true);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    ParseOutcome h;
    h.kind = ParseOutcome::Kind::help;
    h.text = app.help() +
             "\nUsage: sandbox-run [OPTIONS] [--rootfs-dir DIR | --rootfs IMG] -- CMD ARGS...\n";
    return h;
  } catch (const CLI::ParseError& e) {
    return error(e.what());
  }
  o.command = app.remaining();
  if (!o.command.empty() && o.command[0] == "--") {
    o.command.erase(o.command.begin());
  } else if (!o.command.empty() && o.command[0].size() > 1 && o.command[0][0] == '-') {
    return error("unknown option " + o.command[0]);
  }
  if (o.kernel.empty() && env_kernel != nullptr) o.kernel = env_kernel;
  if (o.agent.empty()) o.agent = self_dir + "/minivmm-agent";
  if (auto why = check(o); !why.empty()) return error(why);
  ParseOutcome ok;
  ok.kind = ParseOutcome::Kind::run;
  ok.options = std::move(o);
  return ok;
}

std::vector<std::string> command_environment(const std::vector<std::string>& extra) {
  std::vector<std::string> env = {
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root",
      "TERM=dumb"};
  for (const auto& e : extra) {
    auto name = e.substr(0, e.find('=') + 1);
    std::erase_if(env, [&](const std::string& have) { return have.starts_with(name); });
    env.push_back(e);
  }
  return env;
}

}  // namespace sandbox
