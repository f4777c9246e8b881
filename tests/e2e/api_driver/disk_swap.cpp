// Scenario api-disk-swap: Machine::replace_disk and Machine::set_disk_read_only. Machine `swap`
// has a scratch disk (vda) and disk A (vdb); its guest (guest/scripts/api-disk-swap.sh) hashes vdb
// with O_DIRECT, says ready-for-swap and waits for the capacity to change. The driver then tries a
// missing file (must fail, A stays), an unknown disk id, and finally file B (12 MiB, another
// pattern): the guest hashes vdb again. Machine `ro` gets vdb marked read-only through the API
// before start (guest/scripts/api-disk-ro.sh checks /sys/block/vdb/ro and that writes fail);
// after start the flag can no longer change. L1 compares the hashes with the files'.
#include "driver_support.hpp"
#include "scenarios.hpp"

namespace api_e2e {

namespace {

using namespace std::chrono_literals;

// Reports vdb's counters (the second disk of the metrics) under `prefix`.
void report_vdb(const std::string& prefix, const minivmm::Machine& m) {
  auto metrics = m.metrics();
  if (metrics.disks.size() != 2)
    fail("metrics lists " + std::to_string(metrics.disks.size()) + " disks, expected 2");
  const auto& d = metrics.disks[1];
  report(prefix + "id", d.id);
  report(prefix + "path", d.path);
  report(prefix + "read-only", d.read_only ? "1" : "0");
  report(prefix + "capacity", std::to_string(d.capacity_bytes));
  report(prefix + "backing-swaps", std::to_string(d.backing_swaps));
  report(prefix + "read-bytes", std::to_string(d.read_bytes));
  report(prefix + "errors", std::to_string(d.errors));
}

minivmm::MachineConfig two_disk_config(const Options& options, std::string_view script,
                                       ConsoleLog& console, const std::string& vdb) {
  auto config = guest_config(options, script, console);
  for (const std::string& path : {options.get("scratch"), vdb}) {
    minivmm::DiskConfig disk;
    disk.path = path;  // ids by position: vda, vdb
    config.disks.push_back(disk);
  }
  return config;
}

void run_swap(const Options& options) {
  ConsoleLog console("swap");
  auto m =
      create_machine(two_disk_config(options, "api-disk-swap", console, options.get("disk-a")));
  value_or_fail(m->start(), "start");
  report("swap-set-ro-when-running", code_name(m->set_disk_read_only("vdb", true)));
  expect_line(console, "ready-for-swap", 120s);
  report("swap-replace-missing", code_name(m->replace_disk("vdb", options.get("missing"))));
  report("swap-replace-unknown-id", code_name(m->replace_disk("vdz", options.get("disk-b"))));
  report_vdb("swap-before-", *m);
  value_or_fail(m->replace_disk("vdb", options.get("disk-b")), "replace_disk vdb");
  report_vdb("swap-after-", *m);
  auto status = wait_exit(*m, 120s, "after replace_disk");
  report("swap-exit-reason", reason_name(status.reason));
  report_vdb("swap-end-", *m);
  report("swap-replace-when-stopped", code_name(m->replace_disk("vdb", options.get("disk-a"))));
}

void run_read_only(const Options& options) {
  ConsoleLog console("ro");
  auto m = create_machine(two_disk_config(options, "api-disk-ro", console, options.get("disk-ro")));
  report("ro-set-unknown-id", code_name(m->set_disk_read_only("vdz", true)));
  value_or_fail(m->set_disk_read_only("vdb", true), "set_disk_read_only vdb");
  report_vdb("ro-created-", *m);
  value_or_fail(m->start(), "start");
  report("ro-set-when-running", code_name(m->set_disk_read_only("vdb", false)));
  auto status = wait_exit(*m, 120s, "the read-only guest");
  report("ro-exit-reason", reason_name(status.reason));
  report_vdb("ro-end-", *m);
}

}  // namespace

int run_disk_swap(const Options& options) {
  int rc = 0;
  for (auto part : {run_swap, run_read_only}) {
    try {
      part(options);
    } catch (const ScenarioFailure& e) {  // one part failing must not hide the other
      report(part == run_swap ? "swap-error" : "ro-error", e.what());
      rc = 1;
    }
  }
  return rc;
}

}  // namespace api_e2e
