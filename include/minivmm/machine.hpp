// The public C++ API of minivmm: configure, create, start, wait for and stop one virtual machine.
// A Machine owns its KVM VM, vCPU threads, event-loop thread and devices; several Machines may live
// in one process. No function here calls exit() or takes over the process; every failure comes
// back as a Result or an ExitStatus.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <minivmm/error.hpp>

namespace minivmm {

/// Where the guest's serial console (COM1) goes.
struct ConsoleConfig {
  enum class Output {
    none,      ///< discarded
    stdio,     ///< the process's stdout
    file,      ///< appended to `path` (created if missing)
    callback,  ///< handed to `on_output` on the vCPU thread; must not block for long
  };
  Output output = Output::stdio;
  std::string path;
  std::function<void(std::string_view)> on_output;
  /// Forward the process's stdin to the guest (the CLI sets this when stdin is a terminal or pipe).
  bool stdin_input = false;
};

/// One write by the guest to the boot-timer port (see docs in README "Boot timer").
struct BootTimerEvent {
  uint8_t value;                          ///< the byte the guest wrote
  std::chrono::nanoseconds since_exec;    ///< since the process started
  std::chrono::nanoseconds since_create;  ///< since Machine::create began
};

/// One virtio-blk disk backed by a raw image file. Disks appear to the guest as /dev/vda,
/// /dev/vdb, ... in the order given.
struct DiskConfig {
  std::string path;
  bool read_only = false;  ///< opened O_RDONLY, VIRTIO_BLK_F_RO offered, every write IOERR
  std::string serial;      ///< GET_ID answer, at most 20 bytes; empty: derived from the path
  /// Boot from this disk: appends `root=/dev/vda rw` (`ro` when read_only) to the cmdline. Only
  /// the first disk may be the root disk.
  bool root = false;
};

struct MachineConfig {
  uint32_t vcpus = 1;
  uint64_t memory_mib = 128;
  std::string kernel_path;  ///< vmlinux (ELF, PVH or 64-bit entry) or bzImage
  std::string initrd_path;  ///< optional
  std::string cmdline = "console=ttyS0 reboot=k panic=-1";
  ConsoleConfig console;
  std::vector<DiskConfig> disks;
  /// Called on the vCPU thread for every boot-timer write; optional.
  std::function<void(const BootTimerEvent&)> on_boot_timer;
};

/// Why a Machine stopped.
enum class ExitReason {
  guest_reset,      ///< the guest rebooted (i8042 reset, or KVM system event reset)
  guest_shutdown,   ///< the guest powered off (KVM system event shutdown)
  triple_fault,     ///< KVM_EXIT_SHUTDOWN: the CPU triple-faulted
  internal_error,   ///< KVM internal error, failed entry, emulation failure or a VMM error
  stopped_by_host,  ///< request_stop() was called
};

const char* to_string(ExitReason r) noexcept;

struct ExitStatus {
  ExitReason reason = ExitReason::stopped_by_host;
  std::string detail;  ///< human-readable detail (registers for internal errors)
};

class Machine {
 public:
  /// Validates the configuration, opens /dev/kvm, creates the VM, memory, devices and vCPUs and
  /// loads the kernel. No guest code runs and no thread is started. Errors name what failed.
  static Result<std::unique_ptr<Machine>> create(const MachineConfig& config);

  ~Machine();  ///< Stops and joins every thread if still running.
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  /// Starts the vCPU and event-loop threads. Error invalid_state when already started.
  Result<void> start();
  /// Blocks until the machine stops; returns why. Callable once per machine after start().
  ExitStatus wait();
  /// Asks the machine to stop; returns at once. Thread-safe, idempotent, callable from signal-
  /// free contexts on any thread (not from a signal handler).
  void request_stop() noexcept;
  /// Parks every vCPU outside KVM_RUN. Error invalid_state unless running.
  Result<void> pause();
  /// Lets paused vCPUs run again. Error invalid_state unless paused.
  Result<void> resume();
  /// OS thread ids of the vCPU threads, for cgroup/cpuset pinning (0 for a vCPU not started).
  std::vector<pid_t> vcpu_thread_ids() const;
  /// Boot-timer writes seen so far (thread-safe copy).
  std::vector<BootTimerEvent> boot_timer_events() const;

  class Impl;

 private:
  explicit Machine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace minivmm
