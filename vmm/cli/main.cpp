// The `minivmm` command: `minivmm run --kernel K [...]` boots one VM through the public Machine
// API and maps the outcome to a documented exit code (exit_codes.hpp). Errors print one line on
// stderr. SIGINT/SIGTERM stop the VM cleanly and exit 128+signal. Everything VM-related lives in
// the library; this file only parses, reports and waits.
#include <pthread.h>
#include <signal.h>
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

#include "vmm/cli/exit_codes.hpp"
#include "vmm/cli/run_options.hpp"

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

int run(const cli::RunOptions& opts) {
  auto config = cli::to_machine_config(opts);
  if (!config) {
    std::fprintf(stderr, "minivmm: %s\n", config.error().message().c_str());
    return cli::kExitUsage;
  }
  config->on_boot_timer = [](const BootTimerEvent& e) {
    spdlog::info("boot-timer: value={:#04x} since_exec={:.3f}ms since_create={:.3f}ms", e.value,
                 static_cast<double>(e.since_exec.count()) / 1e6,
                 static_cast<double>(e.since_create.count()) / 1e6);
  };
  sigset_t set = SignalStopper::signal_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  auto machine = Machine::create(*config);
  if (!machine) {
    std::fprintf(stderr, "minivmm: %s\n", machine.error().message().c_str());
    return cli::exit_code_for(machine.error());
  }
  note_pvm_host();
  SignalStopper stopper(**machine);
  if (auto started = (*machine)->start(); !started) {
    std::fprintf(stderr, "minivmm: %s\n", started.error().message().c_str());
    return cli::kExitHostFailure;
  }
  ExitStatus status = (*machine)->wait();
  log_device_summary(**machine);
  if (stopper.signal() != 0) return cli::kExitSignalBase + stopper.signal();
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
  return cli::kExitUsage;
}
