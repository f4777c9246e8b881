// minivmm-api-driver: end-to-end checks of the public C++ API (include/minivmm/machine.hpp) that
// a CLI cannot reach, run inside the nested harness by tests/e2e/scenarios_api.py.
//   minivmm-api-driver SCENARIO --kernel VMLINUX --initrd GUEST.cpio.gz [--key value]...
// SCENARIO is pause-resume, graceful-stop, two-machines, disk-swap or console-input (each file of
// this folder says what it does). Facts go to stdout as `API-E2E key=value` lines, the guests'
// consoles as `[tag] line`; exit code 0 when the scenario ran to the end, 1 when it could not go
// on (`API-E2E error=...`), 2 on bad usage. Judging the facts is the Python check's job.
#include <cstdio>
#include <cstring>

#include "driver_support.hpp"
#include "scenarios.hpp"

namespace {

struct Command {
  const char* name;
  int (*run)(const api_e2e::Options&);
};

constexpr Command kCommands[] = {
    {"pause-resume", api_e2e::run_pause_resume},   {"graceful-stop", api_e2e::run_graceful_stop},
    {"two-machines", api_e2e::run_two_machines},   {"disk-swap", api_e2e::run_disk_swap},
    {"console-input", api_e2e::run_console_input},
};

}  // namespace

int main(int argc, char** argv) {
  const Command* command = nullptr;
  for (const auto& c : kCommands) {
    if (argc >= 2 && std::strcmp(argv[1], c.name) == 0) command = &c;
  }
  if (command == nullptr) {
    std::fprintf(stderr, "usage: %s SCENARIO --kernel PATH --initrd PATH [--key value]...\n",
                 argv[0]);
    return 2;
  }
  try {
    int rc = command->run(api_e2e::Options::parse(argc, argv, 2));
    api_e2e::report("driver-done", std::to_string(rc));
    return rc;
  } catch (const api_e2e::ScenarioFailure& e) {
    api_e2e::report("error", e.what());
    return 1;
  }
}
