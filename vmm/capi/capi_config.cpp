// The C configuration builder's scalar part: creating and freeing a minivmm_config, machine size,
// boot source, console, the three callbacks and the JSON form. Setters store what C++ can
// represent and leave range checks to Machine::create (so every field is validated in one place);
// they reject only what has no C++ form (NULL strings, unknown enum values). Devices are in
// capi_devices.cpp.
#include <minivmm/config_json.hpp>

#include "vmm/capi/capi_call.hpp"

using minivmm::capi::CapiCall;
using minivmm::capi::with_handle;

namespace {

// The C callbacks as the std::functions MachineConfig holds (empty for a NULL function). The C
// function and its user pointer are captured by value: the config may be freed meanwhile.
std::function<void(minivmm::MachineState, minivmm::MachineState)> state_adapter(minivmm_state_fn fn,
                                                                                void* user) {
  if (fn == nullptr) return nullptr;
  return [fn, user](minivmm::MachineState from, minivmm::MachineState to) {
    fn(user, static_cast<int>(from), static_cast<int>(to));
  };
}

std::function<void(const minivmm::DeviceError&)> device_error_adapter(minivmm_device_error_fn fn,
                                                                      void* user) {
  if (fn == nullptr) return nullptr;
  return
      [fn, user](const minivmm::DeviceError& e) { fn(user, e.device.c_str(), e.message.c_str()); };
}

std::function<void(const minivmm::BootTimerEvent&)> boot_timer_adapter(minivmm_boot_timer_fn fn,
                                                                       void* user) {
  if (fn == nullptr) return nullptr;
  return [fn, user](const minivmm::BootTimerEvent& e) {
    fn(user, e.value, static_cast<int64_t>(e.since_exec.count()),
       static_cast<int64_t>(e.since_create.count()));
  };
}

}  // namespace

extern "C" {

int minivmm_config_new(minivmm_config** out) {
  CapiCall call("minivmm_config_new");
  return call.run([&] {
    if (out == nullptr) return call.null_argument("out");
    *out = new minivmm_config{};
    return 0;
  });
}

void minivmm_config_free(minivmm_config* config) {
  delete config;
}

int minivmm_config_set_vcpus(minivmm_config* config, uint32_t vcpus) {
  return with_handle("minivmm_config_set_vcpus", config, "config", [&](CapiCall&, auto& c) {
    c.config.vcpus = vcpus;
    return 0;
  });
}

int minivmm_config_set_memory_mib(minivmm_config* config, uint64_t mib) {
  return with_handle("minivmm_config_set_memory_mib", config, "config", [&](CapiCall&, auto& c) {
    c.config.memory_mib = mib;
    return 0;
  });
}

int minivmm_config_set_kernel(minivmm_config* config, const char* path) {
  return with_handle("minivmm_config_set_kernel", config, "config", [&](CapiCall& call, auto& c) {
    if (path == nullptr) return call.null_argument("kernel path");
    c.config.kernel_path = path;
    return 0;
  });
}

int minivmm_config_set_initrd(minivmm_config* config, const char* path) {
  return with_handle("minivmm_config_set_initrd", config, "config", [&](CapiCall&, auto& c) {
    c.config.initrd_path = path != nullptr ? path : "";
    return 0;
  });
}

int minivmm_config_set_cmdline(minivmm_config* config, const char* cmdline) {
  return with_handle("minivmm_config_set_cmdline", config, "config", [&](CapiCall& call, auto& c) {
    if (cmdline == nullptr) return call.null_argument("cmdline");
    c.config.cmdline = cmdline;
    return 0;
  });
}

int minivmm_config_set_console(minivmm_config* config, int output, const char* path) {
  using Output = minivmm::ConsoleConfig::Output;
  return with_handle("minivmm_config_set_console", config, "config", [&](CapiCall& call, auto& c) {
    Output o;
    switch (output) {
      case MINIVMM_CONSOLE_NONE:
        o = Output::none;
        break;
      case MINIVMM_CONSOLE_STDIO:
        o = Output::stdio;
        break;
      case MINIVMM_CONSOLE_FILE:
        if (path == nullptr) return call.null_argument("console.path (file output)");
        o = Output::file;
        break;
      case MINIVMM_CONSOLE_CALLBACK:
        return call.fail(-EINVAL,
                         "console.output: callback output is set with "
                         "minivmm_config_set_console_callback");
      default:
        return call.fail(-EINVAL, "console.output: " + std::to_string(output) +
                                      " is not an enum minivmm_console_output value");
    }
    c.config.console.output = o;
    c.config.console.path = o == Output::file ? path : "";
    return 0;
  });
}

int minivmm_config_set_console_callback(minivmm_config* config, minivmm_console_fn fn, void* user) {
  return with_handle("minivmm_config_set_console_callback", config, "config",
                     [&](CapiCall& call, auto& c) {
                       if (fn == nullptr) return call.null_argument("console callback");
                       c.config.console.output = minivmm::ConsoleConfig::Output::callback;
                       c.config.console.path.clear();
                       c.config.console.on_output = [fn, user](std::string_view bytes) {
                         fn(user, bytes.data(), bytes.size());
                       };
                       return 0;
                     });
}

int minivmm_config_set_console_stdin(minivmm_config* config, int enabled) {
  return with_handle("minivmm_config_set_console_stdin", config, "config", [&](CapiCall&, auto& c) {
    c.config.console.stdin_input = enabled != 0;
    return 0;
  });
}

int minivmm_config_set_state_callback(minivmm_config* config, minivmm_state_fn fn, void* user) {
  return with_handle("minivmm_config_set_state_callback", config, "config",
                     [&](CapiCall&, auto& c) {
                       c.config.on_state_change = state_adapter(fn, user);
                       return 0;
                     });
}

int minivmm_config_set_device_error_callback(minivmm_config* config, minivmm_device_error_fn fn,
                                             void* user) {
  return with_handle("minivmm_config_set_device_error_callback", config, "config",
                     [&](CapiCall&, auto& c) {
                       c.config.on_device_error = device_error_adapter(fn, user);
                       return 0;
                     });
}

int minivmm_config_set_boot_timer_callback(minivmm_config* config, minivmm_boot_timer_fn fn,
                                           void* user) {
  return with_handle("minivmm_config_set_boot_timer_callback", config, "config",
                     [&](CapiCall&, auto& c) {
                       c.config.on_boot_timer = boot_timer_adapter(fn, user);
                       return 0;
                     });
}

int minivmm_config_from_json(const char* json, minivmm_config** out) {
  CapiCall call("minivmm_config_from_json");
  return call.run([&] {
    if (json == nullptr) return call.null_argument("json");
    if (out == nullptr) return call.null_argument("out");
    auto parsed = minivmm::machine_config_from_json(json);
    if (!parsed) return call.fail(parsed.error());
    *out = new minivmm_config{std::move(*parsed)};
    return 0;
  });
}

int minivmm_config_merge_json(minivmm_config* config, const char* json) {
  return with_handle("minivmm_config_merge_json", config, "config", [&](CapiCall& call, auto& c) {
    if (json == nullptr) return call.null_argument("json");
    return call.check(minivmm::merge_machine_config_json(c.config, json));
  });
}

int minivmm_config_to_json(const minivmm_config* config, char** out) {
  return with_handle("minivmm_config_to_json", config, "config", [&](CapiCall& call, auto& c) {
    if (out == nullptr) return call.null_argument("out");
    *out = minivmm::capi::dup_string(minivmm::machine_config_to_json(c.config));
    return 0;
  });
}

}  // extern "C"
