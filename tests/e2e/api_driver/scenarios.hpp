// The driver's scenarios, one function per subcommand of minivmm-api-driver (main.cpp). Each
// boots the e2e guest with its own guest script, prints `API-E2E key=value` facts for
// tests/e2e/scenarios_api.py and returns the exit code (0: it ran to the end).
#pragma once

#include "driver_support.hpp"

namespace api_e2e {

int run_pause_resume(const Options& options);
int run_graceful_stop(const Options& options);
int run_two_machines(const Options& options);
int run_disk_swap(const Options& options);
int run_console_input(const Options& options);

}  // namespace api_e2e
