// The agent's duties as the guest's PID 1 (the init of the initramfs sandbox-run builds): the
// early mounts, mounting the real root and moving into it while the agent keeps running from the
// initramfs, and the orderly power-off. Serving connections is server.hpp's and session.hpp's.
#pragma once

#include <string>

#include "examples/sandbox/agent/root_spec.hpp"

namespace sandbox {

/// Mounts /proc, /sys and /dev (devtmpfs) and points stdio at /dev/console. Errors name the
/// mount; an already mounted target is fine.
std::string mount_early();

/// Mounts `root` at /newroot (retrying a missing block device for a while), moves /dev, /proc
/// and /sys under it and makes it "/" (MS_MOVE + chroot, as switch_root). Error text or empty.
std::string enter_root(const RootSpec& root);

/// Ends the sandbox: SIGTERM to every process, a short grace period, SIGKILL, sync, remount "/"
/// read-only (a clean ext4 image), then reboot (the VMM sees the i8042 reset and stops). Never
/// returns.
[[noreturn]] void power_off();

}  // namespace sandbox
