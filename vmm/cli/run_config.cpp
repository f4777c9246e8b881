// Implementation of `minivmm run`'s effective configuration: reading the --config file, splitting
// off its "cli" object, and laying the given command-line options over it.
#include "vmm/cli/run_config.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>

#include "vmm/cli/bench_command.hpp"
#include "vmm/cli/exit_codes.hpp"
#include "vmm/config/json_reader.hpp"
#include "vmm/config/json_writer.hpp"
#include "vmm/config/machine_json.hpp"
#include "vmm/machine/config_validation.hpp"
#include "vmm/sys/unique_fd.hpp"

namespace minivmm::cli {
namespace {

constexpr size_t kMaxConfigFile = 1 << 20;  // a config is a few KiB; refuse to slurp a disk image

bool stdin_is_terminal() {
  return ::isatty(STDIN_FILENO) == 1;
}

Result<std::string> read_text_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error("--config {}", path);
  std::string text;
  std::array<char, 16384> buf;
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("--config {}: read", path);
    if (n == 0) return text;
    text.append(buf.data(), static_cast<size_t>(n));
    if (text.size() > kMaxConfigFile)
      return make_error(ErrorCode::invalid_config, "--config {}: larger than {} bytes", path,
                        kMaxConfigFile);
  }
}

Result<void> check_one_of(const std::string& path, const std::string& value,
                          std::initializer_list<std::string_view> allowed) {
  for (std::string_view a : allowed)
    if (value == a) return {};
  return make_error(ErrorCode::invalid_config, "{}: \"{}\" is not one of {}", path, value,
                    fmt::join(allowed, ", "));
}

Result<void> merge_settings(RunSettings& settings, const nlohmann::json& value) {
  RunSettings merged = settings;
  MINIVMM_TRY_VOID(json::read_object(value, "cli", merged));
  MINIVMM_TRY_VOID(check_one_of("cli.log_level", merged.log_level,
                                {"trace", "debug", "info", "warn", "error", "off"}));
  MINIVMM_TRY_VOID(check_one_of("cli.boot_timing", merged.boot_timing, {"off", "text", "json"}));
  settings = std::move(merged);
  return {};
}

Result<void> apply_settings(RunSettings& s, const RunOptions& o) {
  if (o.given.count("--log-level")) s.log_level = o.log_level;
  if (o.given.count("--boot-timing")) {
    if (o.boot_timing != "text" && o.boot_timing != "json")
      return make_error(ErrorCode::invalid_config, "--boot-timing: '{}' is not text or json",
                        o.boot_timing);
    s.boot_timing = o.boot_timing;
  }
  if (o.given.count("--exit-on-marker")) {
    MINIVMM_TRY(marker, parse_marker(o.exit_on_marker, "--exit-on-marker"));
    s.exit_on_marker = marker;
  }
  return {};
}

tl::unexpected<RunFailure> fail(int exit_code, const Error& e) {
  return tl::unexpected(RunFailure{exit_code, e.message()});
}

}  // namespace

Result<void> merge_config_text(EffectiveRun& run, std::string_view text, const std::string& name) {
  auto merge = [&]() -> Result<void> {
    MINIVMM_TRY(doc, json::parse_json_text(text));
    if (!doc.is_object()) return json::type_error("config", "a JSON object", doc);
    EffectiveRun merged = run;
    if (auto cli = doc.find("cli"); cli != doc.end()) {
      MINIVMM_TRY_VOID(merge_settings(merged.cli, *cli));
      doc.erase(cli);
    }
    MINIVMM_TRY_VOID(json::merge_machine_config(merged.machine, doc));
    // As for --console: typed input is forwarded only to a stdio console on a terminal, unless
    // the file says otherwise.
    auto console = doc.find("console");
    if (console != doc.end() && !console->contains("stdin_input"))
      merged.machine.console.stdin_input =
          merged.machine.console.output == ConsoleConfig::Output::stdio && stdin_is_terminal();
    run = std::move(merged);
    return {};
  };
  if (auto r = merge(); !r) return tl::unexpected(with_context(r.error(), name));
  return {};
}

Result<void> apply_command_line(EffectiveRun& run, const RunOptions& o) {
  MINIVMM_TRY(flags, to_machine_config(o));
  auto given = [&o](const char* name) { return o.given.count(name) != 0; };
  MachineConfig& m = run.machine;
  if (given("--kernel")) m.kernel_path = flags.kernel_path;
  if (given("--initrd")) m.initrd_path = flags.initrd_path;
  if (given("--cmdline")) m.cmdline = flags.cmdline;
  if (given("--vcpus")) m.vcpus = flags.vcpus;
  if (given("--memory")) m.memory_mib = flags.memory_mib;
  if (given("--console")) m.console = flags.console;
  // List options replace the file's whole list: the command line describes those devices.
  if (given("--disk") || given("--rootfs")) m.disks = flags.disks;
  if (given("--net")) m.nets = flags.nets;
  if (given("--vsock")) m.vsock = flags.vsock;
  if (given("--fs")) m.fs = flags.fs;
  if (given("--share") || given("--rootfs-dir")) m.shares = flags.shares;
  if (given("--virtiofsd"))
    for (auto& share : m.shares) share.virtiofsd_path = o.virtiofsd;
  return apply_settings(run.cli, o);
}

tl::expected<EffectiveRun, RunFailure> resolve_run(const RunOptions& opts) {
  EffectiveRun run;
  run.machine.console.stdin_input = stdin_is_terminal();  // the default console is stdio
  if (!opts.config.empty()) {
    auto text = read_text_file(opts.config);
    if (!text) return fail(kExitBadConfig, text.error());
    if (auto r = merge_config_text(run, *text, opts.config); !r)
      return fail(kExitBadConfig, r.error());
  }
  if (auto r = apply_command_line(run, opts); !r) return fail(kExitUsage, r.error());
  if (run.machine.kernel_path.empty())
    return tl::unexpected(RunFailure{
        kExitUsage, "no kernel: give --kernel PATH or \"kernel_path\" in the --config file"});
  if (opts.print_config) {
    if (auto r = validate_config(run.machine); !r) return fail(kExitBadConfig, r.error());
  }
  return run;
}

std::string effective_config_json(const EffectiveRun& run) {
  nlohmann::ordered_json out = json::machine_config_json(run.machine);
  out["cli"] = json::write_value(run.cli);
  return out.dump(2);
}

}  // namespace minivmm::cli
