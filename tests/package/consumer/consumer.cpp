// An embedder's C++ program built outside the minivmm tree against the installed package: it
// touches every public header (capabilities, JSON config, errors, Machine, metrics) and checks
// the answers that need no /dev/kvm. Prints one line per check; any failed check prints
// "FAILED: ..." and exits 1. tests/package/run.sh builds it against libminivmm.so and
// libminivmm.a and matches the output.
#include <cstdio>
#include <string>
#include <string_view>

#include <minivmm/capabilities.hpp>
#include <minivmm/config_json.hpp>
#include <minivmm/machine.hpp>
#include <minivmm/metrics.hpp>

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAILED", what.c_str());
  if (!ok) ++failures;
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

void check_capabilities() {
  minivmm::Capabilities caps = minivmm::capabilities();
  std::printf("version %s\n", caps.version.c_str());
  std::string names;
  for (const auto& n : minivmm::capability_names(caps)) names += " " + n;
  std::printf("capabilities:%s\n", names.c_str());
  check(!caps.version.empty(), "capabilities().version is set");
  check(!caps.device_hotplug && !caps.snapshot_restore, "hotplug and snapshots reported absent");
}

void check_json() {
  auto bad = minivmm::machine_config_from_json(R"({"vcpus": "two"})");
  check(!bad && contains(bad.error().message(), "vcpus"),
        "bad JSON rejected naming the key: " +
            (bad ? std::string("accepted") : bad.error().message()));
  auto good = minivmm::machine_config_from_json(
      R"({"vcpus": 2, "memory_mib": 256, "kernel_path": "/nonexistent/minivmm-package/vmlinux"})");
  check(good && good->vcpus == 2 && good->memory_mib == 256, "JSON config parsed");
  if (!good) return;
  std::string json = minivmm::machine_config_to_json(*good);
  check(contains(json, "memory_mib") && contains(json, "256"), "config printed as JSON");
  auto machine = minivmm::Machine::create(*good);
  // Without /dev/kvm this fails opening it, with it at the missing kernel: either way it fails.
  check(!machine, "Machine::create fails without a kernel file");
  if (!machine) std::printf("create error: %s\n", machine.error().message().c_str());
}

void check_validation() {
  minivmm::MachineConfig config;  // no kernel: rejected before /dev/kvm is opened
  auto machine = minivmm::Machine::create(config);
  check(
      !machine && machine.error().code() == minivmm::ErrorCode::invalid_config &&
          contains(machine.error().message(), "kernel"),
      "missing kernel rejected: " + (machine ? std::string("created") : machine.error().message()));
  minivmm::Error e(minivmm::ErrorCode::timeout, "waiting for the guest");
  check(contains(e.message(), "waiting for the guest") &&
            std::string(e.code().category().name()) == minivmm::minivmm_category().name(),
        "Error and minivmm_category: " + e.message());
}

void check_names_and_metrics() {
  check(std::string_view(minivmm::to_string(minivmm::MachineState::paused)) == "paused",
        "to_string(MachineState)");
  // ExitReason's text is meant for people ("guest shutdown"), not a fixed token.
  std::string reason = minivmm::to_string(minivmm::ExitReason::guest_shutdown);
  check(contains(reason, "shutdown"), "to_string(ExitReason): " + reason);
  minivmm::Metrics metrics;
  std::string json = minivmm::to_json(metrics);
  check(contains(json, "\"state\"") && contains(json, "created"), "to_json(Metrics)");
}

}  // namespace

int main() {
  check_capabilities();
  check_json();
  check_validation();
  check_names_and_metrics();
  std::printf("minivmm C++ consumer: %s\n", failures == 0 ? "all checks passed" : "FAILED");
  return failures == 0 ? 0 : 1;
}
