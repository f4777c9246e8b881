// The `minivmm` command: `minivmm run --kernel K [...]` or `minivmm run --config vm.json [...]`
// boots one VM through the public Machine API (the options and the file combine in
// run_config.hpp; --print-config prints the result and exits before anything touches /dev/kvm)
// and maps the outcome to a documented exit code (exit_codes.hpp); `minivmm bench` repeats
// such runs and summarizes their start timing (bench_command.hpp). Errors print one line on
// stderr. SIGINT/SIGTERM stop the VM cleanly and exit 128+signal. Everything VM-related lives in
// the library; this file only parses, reports and waits.
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <string>
#include <thread>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <minivmm/machine.hpp>

#include "vmm/cli/bench_command.hpp"
#include "vmm/cli/boot_timing_report.hpp"
#include "vmm/cli/exit_codes.hpp"
#include "vmm/cli/run_config.hpp"
#include "vmm/cli/run_options.hpp"
#include "vmm/sys/process_start.hpp"

namespace {

using namespace minivmm;

// Stops the machine on SIGINT/SIGTERM. The signals are blocked in every thread (the mask is set
// before any thread starts) and taken synchronously here, so no async-signal-safety concerns.
class SignalStopper {
 public:
  explicit SignalStopper(Machine& machine) {
    m_thread = std::thread([this, &machine] {
      sigset_t set = signal_set();
      int sig = 0;
      sigwait(&set, &sig);
      if (sig == SIGINT || sig == SIGTERM) {
        m_signal.store(sig);
        machine.request_stop();
      }
    });
  }
  ~SignalStopper() {
    pthread_kill(m_thread.native_handle(), SIGUSR2);  // wakes sigwait if no signal came
    m_thread.join();
  }
  int signal() const { return m_signal.load(); }
  static sigset_t signal_set() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR2);
    return set;
  }

 private:
  std::thread m_thread;
  std::atomic<int> m_signal{0};
};

// One line per NIC and for the vsock device at exit (info level): what the devices moved and
// dropped, e.g. to see that a deleted tap took the link down.
void log_device_summary(const Machine& machine) {
  auto stats = machine.net_stats();
  for (size_t i = 0; i < stats.size(); ++i) {
    const NetStats& n = stats[i];
    spdlog::info(
        "net{} {}: link={} rx_packets={} rx_bytes={} rx_drops={} rx_errors={} tx_packets={} "
        "tx_bytes={} tx_drops={} tx_errors={}",
        i, n.tap_name, n.link_up ? "up" : "down", n.rx_packets, n.rx_bytes, n.rx_drops, n.rx_errors,
        n.tx_packets, n.tx_bytes, n.tx_drops, n.tx_errors);
  }
  if (auto v = machine.vsock_stats()) {
    spdlog::info(
        "vsock cid={} {}: rx_packets={} rx_bytes={} tx_packets={} tx_bytes={} connections={} "
        "resets={} active={} dropped={}",
        v->guest_cid, v->uds_path, v->rx_packets, v->rx_bytes, v->tx_packets, v->tx_bytes,
        v->connections_opened, v->connections_reset, v->active_connections, v->dropped_packets);
  }
}

void note_pvm_host() {
  struct stat st {};
  if (::stat("/sys/module/kvm_pvm", &st) == 0)
    spdlog::info(
        "note: this host's /dev/kvm is PVM; a guest kernel without PVM support runs under "
        "instruction emulation and upstream Linux cannot finish booting here (README: "
        "\"PVM hosts\")");
}

// --boot-timing (text or json): the report printed once the machine stopped.
void print_boot_timing(const std::string& format, const Machine& machine,
                       std::chrono::nanoseconds config_parsed, const std::string& exit) {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  auto ms = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) * 1e3 + static_cast<double>(tv.tv_usec) / 1e3;
  };
  const cli::RunTiming timing =
      cli::make_run_timing(machine.boot_timing(), config_parsed, ms(ru.ru_utime) + ms(ru.ru_stime),
                           static_cast<uint64_t>(ru.ru_maxrss), exit);
  if (format == "json") {
    std::fflush(stdout);
    std::printf("%s\n", cli::format_json(timing).c_str());
    std::fflush(stdout);
  } else {
    for (const auto& line : cli::format_text(timing))
      std::fprintf(stderr, "minivmm: %s\n", line.c_str());
  }
}

// Process-wide policies the command may set (an embedder's process keeps its own): on a host with
// transparent huge pages "always", every 8 MiB thread stack and every 64 MiB malloc arena a new
// thread creates is backed by a 2 MiB huge page on its first touch, i.e. 2 MiB zeroed per thread
// and per arena before the thread does anything (about 110 ms of a start inside the nested
// harness). Stacks of 1 MiB cannot hold an aligned huge page, and one arena serves minivmm's few,
// rarely allocating threads. Both also keep the VMM's private memory small.
void tune_process_for_startup() {
  constexpr size_t kThreadStack = 1024 * 1024;
  pthread_attr_t attr;
  if (pthread_attr_init(&attr) == 0) {
    pthread_attr_setstacksize(&attr, kThreadStack);
    pthread_setattr_default_np(&attr);
    pthread_attr_destroy(&attr);
  }
  mallopt(M_ARENA_MAX, 1);
}

int run(const cli::RunOptions& opts) {
  auto resolved = cli::resolve_run(opts);
  if (!resolved) {
    std::fprintf(stderr, "minivmm: %s\n", resolved.error().message.c_str());
    return resolved.error().exit_code;
  }
  if (opts.print_config) {
    std::printf("%s\n", cli::effective_config_json(*resolved).c_str());
    return std::fflush(stdout) == 0 ? cli::kExitGuestDone : cli::kExitHostFailure;
  }
  // After the --config file: "config_parsed" covers reading it.
  const auto config_parsed = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::steady_clock::now() - process_start_time());
  const cli::RunSettings settings = resolved->cli;
  MachineConfig config = std::move(resolved->machine);
  spdlog::set_level(spdlog::level::from_str(settings.log_level));
  const std::optional<uint8_t> exit_marker = settings.exit_on_marker;
  // The marker callback runs on a vCPU thread, only after start(): by then `target` is set.
  std::atomic<Machine*> target{nullptr};
  std::atomic<bool> marker_hit{false};
  config.on_boot_timer = [&target, &marker_hit, exit_marker](const BootTimerEvent& e) {
    spdlog::info("boot-timer: value={:#04x} since_exec={:.3f}ms since_create={:.3f}ms", e.value,
                 static_cast<double>(e.since_exec.count()) / 1e6,
                 static_cast<double>(e.since_create.count()) / 1e6);
    if (exit_marker && e.value == *exit_marker && !marker_hit.exchange(true)) {
      if (Machine* m = target.load()) m->request_stop();
    }
  };
  tune_process_for_startup();
  sigset_t set = SignalStopper::signal_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  auto machine = Machine::create(config);
  if (!machine) {
    std::fprintf(stderr, "minivmm: %s\n", machine.error().message().c_str());
    return cli::exit_code_for(machine.error());
  }
  note_pvm_host();
  target.store(machine->get());
  SignalStopper stopper(**machine);
  if (auto started = (*machine)->start(); !started) {
    std::fprintf(stderr, "minivmm: %s\n", started.error().message().c_str());
    return cli::kExitHostFailure;
  }
  auto waited = (*machine)->wait();
  if (!waited) {  // cannot happen after a successful start; report it rather than guess
    std::fprintf(stderr, "minivmm: %s\n", waited.error().message().c_str());
    return cli::kExitInternalError;
  }
  ExitStatus status = *waited;
  log_device_summary(**machine);
  const bool at_marker =
      marker_hit.load() && status.reason == ExitReason::stopped_by_host && stopper.signal() == 0;
  if (settings.boot_timing != "off")
    print_boot_timing(settings.boot_timing, **machine, config_parsed,
                      at_marker ? cli::marker_name(*exit_marker) : to_string(status.reason));
  if (stopper.signal() != 0) return cli::kExitSignalBase + stopper.signal();
  if (at_marker) {
    spdlog::info("guest reached boot-timer marker {:#04x}: stopped", *exit_marker);
    return cli::kExitGuestDone;
  }
  if (status.reason == ExitReason::guest_reset || status.reason == ExitReason::guest_shutdown)
    spdlog::info("guest stopped: {} ({})", to_string(status.reason), status.detail);
  else
    std::fprintf(stderr, "minivmm: guest stopped: %s: %s\n", to_string(status.reason),
                 status.detail.c_str());
  return cli::exit_code_for(status);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"minivmm: a lean KVM virtual machine monitor", "minivmm"};
  app.set_version_flag("--version", std::string("minivmm ") + MINIVMM_VERSION);
  app.require_subcommand(1);
  cli::RunOptions opts;
  CLI::App* run_cmd = app.add_subcommand("run", "boot a Linux kernel");
  cli::add_run_options(*run_cmd, opts);
  cli::BenchOptions bench_opts;
  CLI::App* bench_cmd = app.add_subcommand(
      "bench", "boot a kernel N times to a boot-timer marker and summarize where the time goes");
  cli::add_bench_options(*bench_cmd, bench_opts);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "minivmm: %s (see minivmm --help)\n", e.what());
    return cli::kExitUsage;
  }
  // Logs go to stderr; stdout belongs to the guest console.
  spdlog::set_default_logger(spdlog::stderr_logger_st("minivmm"));
  spdlog::set_pattern("minivmm: %l: %v");
  spdlog::set_level(spdlog::level::from_str(opts.log_level));
  if (run_cmd->parsed()) return run(opts);
  if (bench_cmd->parsed()) return cli::run_bench(bench_opts);
  return cli::kExitUsage;
}
