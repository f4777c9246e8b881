// sandbox-run's command line: the options, their defaults and their checks, as a pure function
// from argv (plus the environment values it consults) to Options or one error line. Running the
// sandbox is elsewhere (sandbox.hpp, client.hpp); this file opens nothing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sandbox {

/// sandbox-run's exit code for its own failures (bad options, boot or agent failure), as docker
/// run's 125; a command's own status is passed through (0..255, 128 + signal).
inline constexpr int exit_own_error = 125;

struct Options {
  std::string kernel;      ///< --kernel, default $MINIVMM_KERNEL
  std::string rootfs_dir;  ///< --rootfs-dir: a host directory served by virtiofsd as /
  std::string rootfs;      ///< --rootfs: an ext4 image as / (/dev/vda)
  bool read_only = false;  ///< --read-only: the root is mounted read-only
  uint64_t memory_mib = 256;
  uint32_t vcpus = 1;
  bool timing = false;
  std::string agent;  ///< --agent, default: minivmm-agent next to sandbox-run
  std::string virtiofsd = "/usr/lib/qemu/virtiofsd";
  std::string console;           ///< --console FILE: guest console log; empty: discarded
  std::vector<std::string> env;  ///< -e/--env NAME=VALUE, added to the default environment
  std::string workdir = "/";     ///< -w/--workdir
  uint32_t parallel = 1;         ///< --parallel N: N concurrent instances of the command
  uint32_t boot_timeout_s = 60;  ///< how long to wait for the agent to listen
  std::vector<std::string> command;
};

struct ParseOutcome {
  enum class Kind { run, help, error };
  Kind kind = Kind::error;
  Options options;
  std::string text;  ///< help text, or the one-line error
};

/// Parses argv. `env_kernel` is $MINIVMM_KERNEL (may be null); `self_dir` is the folder of the
/// sandbox-run executable (for the default --agent). Errors: no command, both or neither rootfs
/// kind, missing kernel, zero or absurd sizes, bad --env, a relative --workdir.
ParseOutcome parse_options(int argc, const char* const* argv, const char* env_kernel,
                           const std::string& self_dir);

/// The command's environment: PATH, HOME=/root, TERM=dumb... then every --env (overriding by name).
std::vector<std::string> command_environment(const std::vector<std::string>& extra);

}  // namespace sandbox
