// Scenario api-pause-resume: the guest (guest/scripts/api-ticker.sh) prints `api-tick N` about
// every 100 ms. The driver pauses the machine once the count reaches 5, measures how many console
// bytes arrive while it is paused, resumes it and follows the count on; along the way it reports
// the lifecycle answers (state(), invalid_state for pause-in-paused and resume-in-running,
// wait_for timing out while running), the vCPU thread ids (threads of this process?), the
// metrics JSON, the capabilities and the on_state_change sequence, then stops the machine.
#include <unistd.h>

#include <filesystem>
#include <regex>
#include <thread>

#include "driver_support.hpp"
#include "scenarios.hpp"

namespace api_e2e {

namespace {

using namespace std::chrono_literals;
using minivmm::MachineState;

// The counter of a console line `api-tick N`, or -1.
long tick_of(const std::string& line) {
  static const std::regex re("^api-tick ([0-9]+)$");
  std::smatch m;
  return std::regex_match(line, m, re) ? std::stol(m[1]) : -1;
}

// The last complete tick seen so far, or -1.
long last_tick(const ConsoleLog& console) {
  auto lines = console.lines();
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    if (long t = tick_of(it->text); t >= 0) return t;
  }
  return -1;
}

// Waits until a tick >= `at_least` arrived at a line index >= from; returns that tick.
long wait_tick(ConsoleLog& console, long at_least, std::chrono::milliseconds limit,
               size_t from = 0) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    auto lines = console.lines();
    for (size_t i = from; i < lines.size(); ++i) {
      if (long t = tick_of(lines[i].text); t >= at_least) return t;
    }
    std::this_thread::sleep_for(20ms);
  }
  fail("no api-tick >= " + std::to_string(at_least) + " on the guest console");
}

// The first tick at a line index >= from, or -1.
long first_tick_from(const ConsoleLog& console, size_t from) {
  auto lines = console.lines();
  for (size_t i = from; i < lines.size(); ++i) {
    if (long t = tick_of(lines[i].text); t >= 0) return t;
  }
  return -1;
}

void report_capabilities() {
  auto caps = minivmm::capabilities();
  std::string names;
  for (const auto& n : minivmm::capability_names(caps)) names += (names.empty() ? "" : ",") + n;
  report("capabilities", names);
  report("version", caps.version);
}

// Pauses the machine and reports what the console did while it stayed paused for 2 s.
long pause_and_measure(minivmm::Machine& m, ConsoleLog& console) {
  uint64_t b0 = console.bytes();
  double t0 = now_ms();
  value_or_fail(m.pause(), "pause");
  report("pause-ms", std::to_string(now_ms() - t0));
  report("state-after-pause", minivmm::to_string(m.state()));
  long last = last_tick(console);
  report("last-tick-before-pause", std::to_string(last));
  std::this_thread::sleep_for(50ms);  // bytes already in flight when pause() returned
  uint64_t b1 = console.bytes();
  std::this_thread::sleep_for(2s);
  uint64_t b2 = console.bytes();
  report("bytes-in-grace", std::to_string(b1 - b0));
  report("bytes-while-paused", std::to_string(b2 - b1));
  report("state-still-paused", minivmm::to_string(m.state()));
  report("metrics-paused-json", metrics_json(m));
  report("pause-when-paused", code_name(m.pause()));
  report("wait-for-paused", code_name(m.wait_for(100ms)));
  return last;
}

void report_threads(const minivmm::Machine& m) {
  auto tids = m.vcpu_thread_ids();
  report("vcpu-tids", join(tids));
  bool all_ours = !tids.empty();
  for (pid_t tid : tids) {
    all_ours =
        all_ours && tid > 0 && std::filesystem::exists("/proc/self/task/" + std::to_string(tid));
  }
  report("vcpu-tids-in-process", all_ours ? "1" : "0");
  report("driver-pid", std::to_string(getpid()));
}

}  // namespace

int run_pause_resume(const Options& options) {
  report_capabilities();
  ConsoleLog console("ticker");
  StateRecorder states;
  auto config = guest_config(options, "api-ticker", console, "quiet");
  config.vcpus = 2;
  config.on_state_change = states.callback();
  auto m = create_machine(config);
  report("state-after-create", minivmm::to_string(m->state()));
  report("vcpu-tids-before-start", join(m->vcpu_thread_ids()));
  report("resume-when-created", code_name(m->resume()));
  value_or_fail(m->start(), "start");
  report("state-after-start", minivmm::to_string(m->state()));
  report("start-when-running", code_name(m->start()));
  report("tick-at-pause", std::to_string(wait_tick(console, 5, 120s)));

  long last = pause_and_measure(*m, console);
  size_t resumed_at = console.line_count();
  value_or_fail(m->resume(), "resume");
  report("state-after-resume", minivmm::to_string(m->state()));
  report("resume-when-running", code_name(m->resume()));
  long later = wait_tick(console, last + 5, 30s, resumed_at);
  report("first-tick-after-resume", std::to_string(first_tick_from(console, resumed_at)));
  report("tick-after-resume", std::to_string(later));

  report_threads(*m);
  report("metrics-json", metrics_json(*m));
  report("wait-for-running", code_name(m->wait_for(100ms)));
  m->request_stop();
  auto status = wait_exit(*m, 30s, "after request_stop");
  report("exit-reason", reason_name(status.reason));
  report("state-final", minivmm::to_string(m->state()));
  report("states", states.sequence(MachineState::stopped, 2s));
  auto again = m->wait();
  report("wait-again", again ? reason_name(again->reason) : code_name(again.error()));
  m->request_stop();  // idempotent in stopped
  report("pause-when-stopped", code_name(m->pause()));
  report("metrics-stopped-json", metrics_json(*m));
  return 0;
}

}  // namespace api_e2e
