// The public C++ API of minivmm: configure, create, start, wait for and stop one virtual machine.
// A Machine owns its KVM VM, vCPU threads, event-loop thread and devices; several Machines may live
// in one process. No function here calls exit() or takes over the process; every failure comes
// back as a Result or an ExitStatus.
#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
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

/// One step of Machine::create and Machine::start, timestamped on the same clocks as the
/// boot-timer events. Names, in the order they normally happen: kvm_opened, memory_ready,
/// vm_created, devices_created, kernel_loaded, vcpus_created (end of create), start_called,
/// first_kvm_run (the first vCPU thread entering KVM_RUN).
struct StartPhase {
  std::string name;
  std::chrono::nanoseconds since_exec;    ///< since the process started (see BootTiming)
  std::chrono::nanoseconds since_create;  ///< since Machine::create began
};

/// Where the time of a start went: Machine::boot_timing().
struct BootTiming {
  /// What "exec" means in since_exec: "spawner" (the CLOCK_MONOTONIC nanoseconds the spawning
  /// process put in MINIVMM_SPAWN_TIME_NS just before exec; sub-microsecond), "proc_stat"
  /// (/proc/self/stat starttime; one clock tick, usually 10 ms, of resolution) or "fallback_now"
  /// (neither was usable: the first time minivmm needed the reference).
  std::string exec_reference;
  std::vector<StartPhase> phases;       ///< in the order they happened
  std::vector<BootTimerEvent> markers;  ///< the guest's boot-timer writes so far
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

/// One virtio-net NIC backed by a tap device (no vhost: frames pass through minivmm's event loop).
struct NetConfig {
  /// The tap to attach to; created (and brought up) when no interface of that name exists, and
  /// then removed again when the machine ends. Ignored when tap_fd >= 0.
  std::string tap_name;
  /// An already-open tap fd (IFF_TAP | IFF_VNET_HDR), e.g. created by a runtime inside a
  /// container's network namespace. Machine::create duplicates it; the caller keeps its fd.
  int tap_fd = -1;
  /// Guest MAC address; empty: a random locally administered address.
  std::optional<std::array<uint8_t, 6>> mac;
  uint16_t mtu = 1500;  ///< announced with VIRTIO_NET_F_MTU; 68..65535
};

/// The virtio-vsock device with the hybrid Unix-socket host side (Firecracker / Cloud Hypervisor /
/// Kata Dragonball scheme). Host programs connect to `uds_path` and send `CONNECT <port>\n` to
/// reach a guest listener; a guest connection to host port P goes to the socket `uds_path_P`.
struct VsockConfig {
  uint64_t guest_cid = 3;  ///< 3..0xFFFFFFFE
  std::string uds_path;    ///< created by Machine::create (a stale socket there is replaced)
};

/// A virtio-fs device served by a running vhost-user-fs backend (virtiofsd) on a Unix socket.
struct FsConfig {
  std::string tag;          ///< the mount tag the guest uses (1..36 bytes)
  std::string socket_path;  ///< the backend's vhost-user socket
  /// Boot from this share: appends `rootfstype=virtiofs root=TAG rw` to the cmdline. At most one
  /// root among disks and shares.
  bool root = false;
};

/// A host directory shared through virtio-fs by a virtiofsd that minivmm starts (sandboxed),
/// waits for, and stops and reaps when the machine ends.
struct ShareConfig {
  std::string tag;  ///< the mount tag (1..36 bytes)
  std::string dir;  ///< an existing host directory
  bool read_only = false;
  bool root = false;  ///< as FsConfig::root
  std::string virtiofsd_path = "/usr/lib/qemu/virtiofsd";
};

struct MachineConfig {
  uint32_t vcpus = 1;
  uint64_t memory_mib = 128;
  std::string kernel_path;  ///< vmlinux (ELF, PVH or 64-bit entry) or bzImage
  std::string initrd_path;  ///< optional
  std::string cmdline = "console=ttyS0 reboot=k panic=-1";
  ConsoleConfig console;
  std::vector<DiskConfig> disks;
  std::vector<NetConfig> nets;  ///< NICs in order: eth0, eth1, ...
  std::optional<VsockConfig> vsock;
  std::vector<FsConfig> fs;         ///< shares served by an external backend
  std::vector<ShareConfig> shares;  ///< shares served by a virtiofsd minivmm starts
  /// Called on the vCPU thread for every boot-timer write; optional.
  std::function<void(const BootTimerEvent&)> on_boot_timer;
};

/// Counters of one NIC since the machine was created.
struct NetStats {
  std::string tap_name;
  std::array<uint8_t, 6> mac{};
  bool link_up = false;  ///< false once the tap failed (deleted, I/O errors)
  uint64_t rx_packets = 0, rx_bytes = 0, rx_drops = 0, rx_errors = 0;
  uint64_t tx_packets = 0, tx_bytes = 0, tx_drops = 0, tx_errors = 0;
};

/// Counters of the vsock device since the machine was created.
struct VsockStats {
  std::string uds_path;
  uint64_t guest_cid = 0;
  uint64_t rx_packets = 0, rx_bytes = 0, tx_packets = 0, tx_bytes = 0;
  uint64_t connections_opened = 0, connections_reset = 0, active_connections = 0;
  uint64_t dropped_packets = 0;
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
  /// The start phases recorded so far and the boot-timer writes (thread-safe copy).
  BootTiming boot_timing() const;
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
