// What a running Machine reports about itself: start phases and boot-timer markers, and the
// per-device counters (requests, bytes, errors, drops) gathered into one Metrics snapshot, which
// also renders as JSON for runtimes that export it. Snapshots are copies: taking one never stops
// the guest.
#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <minivmm/export.h>
#include <minivmm/config.hpp>

namespace minivmm {

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

/// Counters of one virtio-blk disk since the machine was created (they continue across
/// Machine::replace_disk).
struct DiskStats {
  std::string id;    ///< DiskConfig::id (or "vda", ...)
  std::string path;  ///< the current backing file
  bool read_only = false;
  uint64_t capacity_bytes = 0;  ///< what the guest is told (whole 512-byte sectors)
  uint64_t requests = 0;        ///< requests the guest submitted
  uint64_t read_bytes = 0, write_bytes = 0;
  uint64_t errors = 0;  ///< requests completed with IOERR or UNSUPP, or without a status byte
  uint64_t backing_swaps = 0;  ///< successful Machine::replace_disk calls
};

/// Counters of one virtio-fs device.
struct FsStats {
  std::string tag;
  bool backend_connected = false;  ///< false once the vhost-user backend went away
  uint64_t activations = 0;        ///< times the guest driver started the device
  uint64_t requests_failed = 0;    ///< requests answered with an error after the backend loss
  uint64_t dropped_requests = 0;   ///< malformed requests returned without a reply after the loss
};

/// Counters of one vCPU.
struct VcpuStats {
  uint32_t index = 0;
  pid_t thread_id = 0;  ///< 0 before start
  uint64_t exits = 0;   ///< KVM_RUN returns so far
};

/// Everything at once, from one call (Machine::metrics). Each device's counters are read
/// atomically per device, not across devices.
struct Metrics {
  MachineState state = MachineState::created;
  std::chrono::nanoseconds uptime{0};  ///< since start(); 0 before
  std::vector<VcpuStats> vcpus;
  std::vector<DiskStats> disks;  ///< in configuration order
  std::vector<NetStats> nets;    ///< in configuration order
  std::optional<VsockStats> vsock;
  std::vector<FsStats> fs;  ///< FsConfig shares first, then ShareConfig shares
};

/// The snapshot as one JSON object whose keys are the field names above: {"state": "running",
/// "uptime_ns": N, "vcpus": [{"index", "thread_id", "exits"}], "disks": [...], "nets": [...]
/// (mac as "02:..."), "vsock": {...} or null, "fs": [...]}. Never fails.
MINIVMM_API std::string to_json(const Metrics& metrics);

}  // namespace minivmm
