// What this build of minivmm can do, so a runtime front end (Kata's hypervisor interface asks
// for exactly this) can decide before creating a sandbox: which devices and lifecycle operations
// exist, which do not (hotplug, snapshots, resizing), and whether this host can run a VM at all.
#pragma once

#include <string>
#include <vector>

#include <minivmm/export.h>

namespace minivmm {

struct Capabilities {
  // Lifecycle.
  bool pause_resume = false;
  bool graceful_stop = false;  ///< Machine::request_graceful_stop (Ctrl-Alt-Del to the guest)
  bool multiple_machines_per_process = false;
  // Boot sources.
  bool boot_vmlinux = false;  ///< ELF vmlinux, PVH note or 64-bit entry
  bool boot_bzimage = false;
  bool boot_initrd = false;
  // Devices.
  bool block_device = false;
  bool block_read_only = false;
  bool block_backing_swap = false;      ///< Machine::replace_disk while running
  bool block_read_only_update = false;  ///< Machine::set_disk_read_only before start
  bool net_tap = false;                 ///< by name (created if missing) or adopted fd
  bool vsock_hybrid = false;            ///< Unix-socket host side (CONNECT <port>)
  bool virtio_fs = false;               ///< external vhost-user-fs backend
  bool virtio_fs_managed = false;       ///< minivmm starts and sandboxes virtiofsd
  // Not supported by this version (reported so callers need not guess).
  bool device_hotplug = false;
  bool snapshot_restore = false;
  bool memory_resize = false;
  bool vcpu_resize = false;
  // Host.
  bool kvm_available = false;  ///< /dev/kvm opens and reports API version 12
  std::string version;         ///< minivmm's version, "MAJOR.MINOR.PATCH"
};

/// The capabilities of this build on this host. Thread-safe; opens /dev/kvm briefly.
MINIVMM_API Capabilities capabilities();

/// The names of the capabilities that are true, e.g. {"pause_resume", "graceful_stop", ...}
/// (the same spellings as the fields and the C API's flags).
MINIVMM_API std::vector<std::string> capability_names(const Capabilities& caps);

}  // namespace minivmm
