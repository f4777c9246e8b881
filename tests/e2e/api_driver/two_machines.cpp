// Scenario api-two-machines: two Machines in this one process at once, `m1` with 1 vCPU and
// `m2` with 2, different cmdline tags. Both are created before either starts, both boot to their
// guest script (guest/scripts/api-hold.sh), which holds until a console line arrives; once both
// hold, each gets its own line and ends (guest_reset). Reported per machine: when its guest held
// (start and end, driver milliseconds; overlapping windows mean both ran at once), its state
// while the other held, exit reason, final state, vCPU thread ids and metrics.
#include <array>

#include "driver_support.hpp"
#include "scenarios.hpp"

namespace api_e2e {

namespace {

using namespace std::chrono_literals;

struct Guest {
  std::string name;
  uint32_t vcpus;
  ConsoleLog console;
  std::unique_ptr<minivmm::Machine> machine;

  Guest(std::string n, uint32_t v) : name(std::move(n)), vcpus(v), console(name) {}
};

void report_guest_end(Guest& g) {
  auto status = wait_exit(*g.machine, 60s, g.name + " after its hold");
  std::string p = g.name + "-";
  report(p + "exit-reason", reason_name(status.reason));
  report(p + "state-final", minivmm::to_string(g.machine->state()));
  auto start = g.console.find("hold-start");
  auto end = g.console.find("hold-end");
  report(p + "hold-start-ms", start ? std::to_string(start->t_ms) : "none");
  report(p + "hold-end-ms", end ? std::to_string(end->t_ms) : "none");
  report(p + "metrics-json", metrics_json(*g.machine));
}

}  // namespace

int run_two_machines(const Options& options) {
  std::array<Guest, 2> guests{Guest("m1", 1), Guest("m2", 2)};
  for (auto& g : guests) {
    auto config = guest_config(options, "api-hold", g.console, "e2e.tag=api-" + g.name);
    config.vcpus = g.vcpus;
    g.machine = create_machine(config);
  }
  for (auto& g : guests) value_or_fail(g.machine->start(), g.name + " start");
  for (auto& g : guests) expect_line(g.console, "hold-start", 180s);
  // Both guests now wait in their script: both machines run at this moment.
  for (auto& g : guests) {
    report(g.name + "-state-while-both-hold", minivmm::to_string(g.machine->state()));
    report(g.name + "-vcpu-tids", join(g.machine->vcpu_thread_ids()));
  }
  for (auto& g : guests) {
    value_or_fail(g.machine->send_console_input("go-" + g.name + "\n"), g.name + " input");
  }
  for (auto& g : guests) report_guest_end(g);
  return 0;
}

}  // namespace api_e2e
