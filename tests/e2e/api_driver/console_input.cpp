// Scenario api-console-input: Machine::send_console_input. The guest script
// (guest/scripts/api-console-input.sh) reads two lines from its serial console and prints each
// back. The driver types the first line, then offers 8 KiB at once (more than the UART's 4 KiB
// receive buffer: must be refused whole), then the second line. Also reported: the answer before
// start and after the machine stopped (both invalid_state).
#include "driver_support.hpp"
#include "scenarios.hpp"

namespace api_e2e {

using namespace std::chrono_literals;

int run_console_input(const Options& options) {
  ConsoleLog console("con");
  auto m = create_machine(guest_config(options, "api-console-input", console));
  report("input-when-created", code_name(m->send_console_input("early\n")));
  value_or_fail(m->start(), "start");
  size_t ready = expect_line(console, "ready-for-input", 120s);
  value_or_fail(m->send_console_input("hello-from-api 12345\n"), "send_console_input line 1");
  expect_line(console, "console-line1=", 60s, ready);
  report("input-oversized", code_name(m->send_console_input(std::string(8192, 'x'))));
  value_or_fail(m->send_console_input("quit\n"), "send_console_input line 2");
  auto status = wait_exit(*m, 60s, "after the second line");
  report("exit-reason", reason_name(status.reason));
  report("input-when-stopped", code_name(m->send_console_input("late\n")));
  return 0;
}

}  // namespace api_e2e
