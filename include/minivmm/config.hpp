// The configuration of one minivmm virtual machine as plain value types: machine size, boot
// source, console, disks, NICs, vsock, virtio-fs shares and the embedder's callbacks. Nothing here
// opens or checks anything: Machine::create validates the whole config in one place and its
// errors name the field ("disks[1].serial: 24 bytes, at most 20"). The JSON form of this config
// is in config_json.hpp.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <minivmm/export.h>

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
  /// Forward the process's stdin to the guest (the CLI sets this when stdin is a terminal). stdin
  /// is read only as fast as the guest drains the UART's 4 KiB receive FIFO: nothing is dropped.
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
  /// The name the API uses for this disk (Machine::replace_disk, metrics). Empty: the guest
  /// device name by position ("vda", "vdb", ...). Unique among the disks.
  std::string id;
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

/// Lifecycle states of a Machine (see Machine for the transitions).
enum class MachineState {
  created,   ///< Machine::create returned; no guest code has run
  running,   ///< vCPU and event-loop threads run the guest
  paused,    ///< every vCPU is parked outside KVM_RUN; devices keep their state
  stopping,  ///< a stop was decided (guest exit, request_stop, deadline); threads are ending
  stopped,   ///< every thread has ended; only queries and wait() remain useful
};

MINIVMM_API const char* to_string(MachineState s) noexcept;

/// A device failure the guest cannot see as an I/O error alone: a tap that went away, a
/// vhost-user backend that died, a disk whose backing file fails, a queue the guest broke.
struct DeviceError {
  std::string device;   ///< "vda", "eth0", "vsock", "fs:TAG"
  std::string message;  ///< what happened, e.g. "tap tap0: read: Network is down"
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
  /// Called after every state change, in order, on the thread that caused it (the caller of
  /// start/pause/resume/request_stop, a vCPU or event-loop thread for guest exits). No lock of
  /// the Machine is held: it may call the Machine's queries but must not block for long, call
  /// wait() or destroy the Machine. Optional.
  std::function<void(MachineState from, MachineState to)> on_state_change;
  /// Called on the event-loop thread when a device fails (see DeviceError): a tap error (link
  /// down), a lost vhost-user backend, host I/O errors of a disk (at most a few per second), a
  /// device that set DEVICE_NEEDS_RESET (once per device). The same rules as on_state_change
  /// apply. Optional.
  std::function<void(const DeviceError&)> on_device_error;
};

}  // namespace minivmm
