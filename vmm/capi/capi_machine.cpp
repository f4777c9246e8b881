// The C machine handle: minivmm_machine owns one minivmm::Machine and forwards the lifecycle,
// console, vCPU-thread, disk and observation calls to it, turning Results into the header's
// return codes and strings into caller-owned copies. Thread safety is the C++ Machine's: the
// handle itself is immutable between create and destroy.
#include <algorithm>
#include <chrono>

#include <nlohmann/json.hpp>

#include "vmm/capi/capi_call.hpp"

using minivmm::capi::CapiCall;
using minivmm::capi::with_handle;

namespace {

// The outputs of wait/wait_timeout; *detail is allocated before *reason is written so that a
// failed allocation leaves both untouched.
int report_exit(CapiCall& call, const minivmm::Result<minivmm::ExitStatus>& status, int* reason,
                char** detail) {
  if (!status) return call.fail(status.error());
  if (detail != nullptr) *detail = minivmm::capi::dup_string(status->detail);
  if (reason != nullptr) *reason = static_cast<int>(status->reason);
  return 0;
}

std::string boot_timing_json(const minivmm::BootTiming& t) {
  auto phases = nlohmann::json::array();
  for (const auto& p : t.phases)
    phases.push_back({{"name", p.name},
                      {"since_exec_ns", p.since_exec.count()},
                      {"since_create_ns", p.since_create.count()}});
  auto markers = nlohmann::json::array();
  for (const auto& m : t.markers)
    markers.push_back({{"value", m.value},
                       {"since_exec_ns", m.since_exec.count()},
                       {"since_create_ns", m.since_create.count()}});
  nlohmann::json j = {
      {"exec_reference", t.exec_reference}, {"phases", phases}, {"markers", markers}};
  return j.dump();
}

}  // namespace

extern "C" {

int minivmm_machine_create(const minivmm_config* config, minivmm_machine** out) {
  CapiCall call("minivmm_machine_create");
  return call.run([&] {
    if (config == nullptr) return call.null_argument("config");
    if (out == nullptr) return call.null_argument("out");
    auto machine = minivmm::Machine::create(config->config);
    if (!machine) return call.fail(machine.error());
    *out = new minivmm_machine{std::move(*machine)};
    return 0;
  });
}

void minivmm_machine_destroy(minivmm_machine* machine) {
  delete machine;
}

int minivmm_machine_state(const minivmm_machine* machine) {
  return with_handle("minivmm_machine_state", machine, "machine",
                     [&](CapiCall&, auto& m) { return static_cast<int>(m.machine->state()); });
}

int minivmm_machine_start(minivmm_machine* machine) {
  return with_handle("minivmm_machine_start", machine, "machine",
                     [&](CapiCall& call, auto& m) { return call.check(m.machine->start()); });
}

int minivmm_machine_pause(minivmm_machine* machine) {
  return with_handle("minivmm_machine_pause", machine, "machine",
                     [&](CapiCall& call, auto& m) { return call.check(m.machine->pause()); });
}

int minivmm_machine_resume(minivmm_machine* machine) {
  return with_handle("minivmm_machine_resume", machine, "machine",
                     [&](CapiCall& call, auto& m) { return call.check(m.machine->resume()); });
}

int minivmm_machine_request_graceful_stop(minivmm_machine* machine, uint32_t deadline_ms) {
  return with_handle(
      "minivmm_machine_request_graceful_stop", machine, "machine", [&](CapiCall& call, auto& m) {
        return call.check(m.machine->request_graceful_stop(std::chrono::milliseconds(deadline_ms)));
      });
}

int minivmm_machine_request_stop(minivmm_machine* machine) {
  return with_handle("minivmm_machine_request_stop", machine, "machine", [&](CapiCall&, auto& m) {
    m.machine->request_stop();
    return 0;
  });
}

int minivmm_machine_wait(minivmm_machine* machine, int* reason, char** detail) {
  return with_handle("minivmm_machine_wait", machine, "machine", [&](CapiCall& call, auto& m) {
    return report_exit(call, m.machine->wait(), reason, detail);
  });
}

int minivmm_machine_wait_timeout(minivmm_machine* machine, uint32_t timeout_ms, int* reason,
                                 char** detail) {
  return with_handle("minivmm_machine_wait_timeout", machine, "machine",
                     [&](CapiCall& call, auto& m) {
                       auto status = m.machine->wait_for(std::chrono::milliseconds(timeout_ms));
                       return report_exit(call, status, reason, detail);
                     });
}

int minivmm_machine_send_console_input(minivmm_machine* machine, const void* data, size_t len) {
  return with_handle("minivmm_machine_send_console_input", machine, "machine",
                     [&](CapiCall& call, auto& m) {
                       if (data == nullptr && len != 0) return call.null_argument("data");
                       if (len == 0) return 0;
                       std::string_view bytes(static_cast<const char*>(data), len);
                       return call.check(m.machine->send_console_input(bytes));
                     });
}

int minivmm_machine_vcpu_thread_ids(const minivmm_machine* machine, pid_t* ids, size_t capacity) {
  return with_handle("minivmm_machine_vcpu_thread_ids", machine, "machine",
                     [&](CapiCall& call, auto& m) {
                       if (ids == nullptr && capacity != 0) return call.null_argument("ids");
                       std::vector<pid_t> tids = m.machine->vcpu_thread_ids();
                       std::copy_n(tids.begin(), std::min(capacity, tids.size()), ids);
                       return static_cast<int>(tids.size());
                     });
}

int minivmm_machine_vsock_uds_path(const minivmm_machine* machine, char** out) {
  return with_handle("minivmm_machine_vsock_uds_path", machine, "machine",
                     [&](CapiCall& call, auto& m) {
                       if (out == nullptr) return call.null_argument("out");
                       *out = minivmm::capi::dup_string(m.machine->vsock_uds_path());
                       return 0;
                     });
}

int minivmm_machine_replace_disk(minivmm_machine* machine, const char* id, const char* path) {
  return with_handle("minivmm_machine_replace_disk", machine, "machine",
                     [&](CapiCall& call, auto& m) {
                       if (id == nullptr) return call.null_argument("disk id");
                       if (path == nullptr) return call.null_argument("path");
                       return call.check(m.machine->replace_disk(id, path));
                     });
}

int minivmm_machine_set_disk_read_only(minivmm_machine* machine, const char* id, int read_only) {
  return with_handle("minivmm_machine_set_disk_read_only", machine, "machine",
                     [&](CapiCall& call, auto& m) {
                       if (id == nullptr) return call.null_argument("disk id");
                       return call.check(m.machine->set_disk_read_only(id, read_only != 0));
                     });
}

int minivmm_machine_metrics_json(const minivmm_machine* machine, char** out) {
  return with_handle("minivmm_machine_metrics_json", machine, "machine",
                     [&](CapiCall& call, auto& m) {
                       if (out == nullptr) return call.null_argument("out");
                       *out = minivmm::capi::dup_string(minivmm::to_json(m.machine->metrics()));
                       return 0;
                     });
}

int minivmm_machine_boot_timing_json(const minivmm_machine* machine, char** out) {
  return with_handle("minivmm_machine_boot_timing_json", machine, "machine",
                     [&](CapiCall& call, auto& m) {
                       if (out == nullptr) return call.null_argument("out");
                       *out = minivmm::capi::dup_string(boot_timing_json(m.machine->boot_timing()));
                       return 0;
                     });
}

}  // extern "C"
