// The public C++ API of minivmm: create, start, pause, resume, stop and wait for one virtual
// machine, and observe it. A Machine owns its KVM VM, vCPU threads, event-loop thread and devices;
// several Machines may live in one process and share no mutable state. No function here calls
// exit() or takes over the process; every failure comes back as a Result or an ExitStatus.
//
// Lifecycle (MachineState): create -> created; start: created -> running; pause: running ->
// paused; resume: paused -> running; a guest exit, request_stop or an expired graceful-stop
// deadline: running/paused -> stopping -> stopped (when every thread has ended); request_stop in
// created: -> stopped (nothing ran). A call not allowed in the current state returns
// ErrorCode::invalid_state and changes nothing.
//
// Thread safety: every member function may be called from any thread, concurrently with the
// others, except the destructor (not concurrently with anything). Callbacks run on minivmm's
// threads with no Machine lock held (see MachineConfig).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <minivmm/export.h>
#include <minivmm/capabilities.hpp>
#include <minivmm/config.hpp>
#include <minivmm/error.hpp>
#include <minivmm/metrics.hpp>

namespace minivmm {

/// Why a Machine stopped.
enum class ExitReason {
  guest_reset,            ///< the guest rebooted (i8042 reset, or KVM system event reset)
  guest_shutdown,         ///< the guest powered off (KVM system event shutdown)
  triple_fault,           ///< KVM_EXIT_SHUTDOWN: the CPU triple-faulted
  internal_error,         ///< KVM internal error, failed entry, emulation failure or a VMM error
  stopped_by_host,        ///< request_stop() was called
  graceful_stop_timeout,  ///< request_graceful_stop's deadline passed; the VM was stopped hard
};

MINIVMM_API const char* to_string(ExitReason r) noexcept;

struct ExitStatus {
  ExitReason reason = ExitReason::stopped_by_host;
  std::string detail;  ///< human-readable detail (registers for internal errors)
};

class MINIVMM_API Machine {
 public:
  /// Validates the whole configuration (errors invalid_config name the field), opens /dev/kvm,
  /// creates the VM, memory, devices and vCPUs and loads the kernel. No guest code runs and no
  /// thread is started. On error nothing is left behind (taps, sockets, virtiofsd are undone).
  static Result<std::unique_ptr<Machine>> create(const MachineConfig& config);

  /// Stops (hard) and joins every thread if still running, then frees everything.
  ~Machine();
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  MachineState state() const noexcept;

  /// created -> running: starts the vCPU and event-loop threads.
  Result<void> start();
  /// running -> paused: parks every vCPU outside KVM_RUN; returns when all are parked.
  Result<void> pause();
  /// paused -> running.
  Result<void> resume();
  /// Asks the guest to shut down (Ctrl-Alt-Del through the i8042 keyboard, as Firecracker's
  /// SendCtrlAltDel) and stops the machine hard if it has not stopped `deadline` later
  /// (ExitReason::graceful_stop_timeout). Only when running; a second request while one is
  /// pending is invalid_state. Returns at once.
  Result<void> request_graceful_stop(std::chrono::milliseconds deadline);
  /// Stops the machine hard (ExitReason::stopped_by_host unless another reason came first);
  /// returns at once. Valid in every state, idempotent; in created the machine goes straight to
  /// stopped. Not callable from a signal handler.
  void request_stop() noexcept;
  /// Blocks until the machine is stopped and every thread has ended; returns why it stopped.
  /// May be called any number of times and from several threads. invalid_state in created.
  Result<ExitStatus> wait();
  /// As wait(), but gives up after `timeout`: ErrorCode::timeout, the machine is unchanged.
  Result<ExitStatus> wait_for(std::chrono::milliseconds timeout);

  /// Queues bytes for the guest's serial console input (as if typed). Running or paused
  /// (invalid_state otherwise). All or nothing: bytes that do not fit in the free space of the
  /// UART's receive buffer (kept small, 4 KiB, drained as the guest reads) are refused with
  /// ENOBUFS.
  Result<void> send_console_input(std::string_view bytes);
  /// OS thread ids of the vCPU threads in vCPU order, for cgroup/cpuset pinning (0 for a vCPU
  /// whose thread has not started).
  std::vector<pid_t> vcpu_thread_ids() const;
  /// The hybrid-vsock Unix socket the agent connection goes through (VsockConfig::uds_path);
  /// empty without a vsock device.
  std::string vsock_uds_path() const;

  /// Replaces the backing file of disk `id` while the VM runs (or before start): requests in
  /// flight finish on the old file, later ones go to `path`, the new capacity is announced with
  /// a config-change interrupt (Kata's block "hotplug" on VMMs without hotplug). The disk keeps
  /// its read-only flag; a read-write disk needs a writable file. Errors: invalid_config (no
  /// such id), the open's errno naming the path, invalid_state when stopping or stopped. On
  /// error the old file stays.
  Result<void> replace_disk(std::string_view id, const std::string& path);
  /// Changes disk `id`'s read-only flag (reopens the file accordingly; errors name the path).
  /// Only in created (invalid_state otherwise): the guest driver reads VIRTIO_BLK_F_RO once. A
  /// root disk's `ro`/`rw` on the kernel command line was fixed by create and stays.
  Result<void> set_disk_read_only(std::string_view id, bool read_only);

  /// Boot-timer writes seen so far (thread-safe copy).
  std::vector<BootTimerEvent> boot_timer_events() const;
  /// The start phases recorded so far and the boot-timer writes (thread-safe copy).
  BootTiming boot_timing() const;
  /// Every device's counters, the vCPUs and the state at once (see Metrics).
  Metrics metrics() const;
  /// Counters of every NIC, in configuration order (thread-safe snapshot).
  std::vector<NetStats> net_stats() const;
  /// Counters of the vsock device; nullopt without one (thread-safe snapshot).
  std::optional<VsockStats> vsock_stats() const;

  class Impl;

 private:
  explicit Machine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace minivmm
