// Scenario api-graceful-stop: Machine::request_graceful_stop against three guests, one machine
// after the other. `default`: a plain shell loop (guest/scripts/api-idle.sh); the kernel's default
// Ctrl-Alt-Del action restarts it, so the machine ends with guest_reset long before the 10 s
// deadline. `trap`: Ctrl-Alt-Del is a SIGINT to the guest script (api-cad-trap.sh), which prints
// graceful-stop-received, syncs and reboots: guest_reset, marker seen. `ignore`: the script
// ignores the SIGINT (api-cad-ignore.sh) and keeps running: graceful_stop_timeout about 3 s after
// the request. Reported per variant (key prefix): exit reason, milliseconds from the request to
// the end, the answer to a second request while one is pending, and guest lines after the request.
#include <thread>

#include "driver_support.hpp"
#include "scenarios.hpp"

namespace api_e2e {

namespace {

using namespace std::chrono_literals;

struct Variant {
  const char* name;    // report key prefix
  const char* script;  // guest/scripts/NAME.sh
  std::chrono::milliseconds deadline;
};

void run_variant(const Options& options, const Variant& v) {
  ConsoleLog console(v.name);
  auto m = create_machine(guest_config(options, v.script, console));
  std::string p = std::string(v.name) + "-";
  report(p + "request-when-created", code_name(m->request_graceful_stop(v.deadline)));
  value_or_fail(m->start(), "start");
  expect_line(console, "api-graceful-ready", 120s);
  // Let the script reach its loop (the marker is printed right before it).
  std::this_thread::sleep_for(300ms);
  size_t lines_at_request = console.line_count();
  double t0 = now_ms();
  value_or_fail(m->request_graceful_stop(v.deadline), "request_graceful_stop");
  report(p + "second-request", code_name(m->request_graceful_stop(v.deadline)));
  report(p + "state-after-request", minivmm::to_string(m->state()));
  auto status = wait_exit(*m, v.deadline + 60s, "after request_graceful_stop");
  double elapsed = now_ms() - t0;
  report(p + "exit-reason", reason_name(status.reason));
  report(p + "exit-detail", status.detail);
  report(p + "elapsed-ms", std::to_string(static_cast<long>(elapsed)));
  report(p + "deadline-ms", std::to_string(v.deadline.count()));
  report(p + "marker-seen", console.find("graceful-stop-received", lines_at_request) ? "1" : "0");
  // Guest lines printed at least 1 s after the request: the guest kept running meanwhile.
  long late_alive = 0;
  for (const auto& line : console.lines()) {
    if (line.t_ms > t0 + 1000 && line.text.rfind("api-alive ", 0) == 0) ++late_alive;
  }
  report(p + "alive-lines-after-1s", std::to_string(late_alive));
  report(p + "request-when-stopped", code_name(m->request_graceful_stop(v.deadline)));
  report(p + "state-final", minivmm::to_string(m->state()));
}

}  // namespace

int run_graceful_stop(const Options& options) {
  const Variant variants[] = {
      {"default", "api-idle", 10s},
      {"trap", "api-cad-trap", 10s},
      {"ignore", "api-cad-ignore", 3s},
  };
  int rc = 0;
  for (const auto& v : variants) {
    // One variant failing must not hide the others.
    try {
      run_variant(options, v);
    } catch (const ScenarioFailure& e) {
      report(std::string(v.name) + "-error", e.what());
      rc = 1;
    }
  }
  return rc;
}

}  // namespace api_e2e
