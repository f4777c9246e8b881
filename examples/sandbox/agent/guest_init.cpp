// PID 1 duties of the agent (guest_init.hpp): mounts, the switch into the real root, power-off.
#include "examples/sandbox/agent/guest_init.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace sandbox {
namespace {

std::string mount_error(const char* what, const std::string& target) {
  return std::string("mount ") + what + " on " + target + ": " + std::strerror(errno);
}

// Mounts unless something is mounted there already (EBUSY).
std::string mount_once(const char* source, const std::string& target, const char* type,
                       unsigned long flags = 0) {
  ::mkdir(target.c_str(), 0755);
  if (::mount(source, target.c_str(), type, flags, nullptr) != 0 && errno != EBUSY)
    return mount_error(type, target);
  return {};
}

}  // namespace

std::string mount_early() {
  if (auto e = mount_once("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC); !e.empty())
    return e;
  if (auto e = mount_once("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC); !e.empty())
    return e;
  if (auto e = mount_once("devtmpfs", "/dev", "devtmpfs", MS_NOSUID); !e.empty()) return e;
  int console = ::open("/dev/console", O_RDWR | O_NOCTTY);
  if (console >= 0) {
    for (int fd = 0; fd < 3; ++fd) ::dup2(console, fd);
    if (console > 2) ::close(console);
  }
  return {};
}

std::string enter_root(const RootSpec& root) {
  unsigned long flags = root.read_only ? MS_RDONLY : 0;
  // A virtio-blk disk is probed before init runs, but allow the device node a moment.
  for (int attempt = 0;; ++attempt) {
    if (::mount(root.source.c_str(), "/newroot", root.fstype.c_str(), flags, nullptr) == 0) break;
    if (attempt >= 50 || (errno != ENOENT && errno != ENXIO))
      return "mount " + root.fstype + " " + root.source + " on /newroot: " + std::strerror(errno);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (const char* dir : {"/dev", "/proc", "/sys"}) {
    std::string target = std::string("/newroot") + dir;
    // A root without the mount point (or a read-only one) keeps going without it.
    ::mkdir(target.c_str(), 0755);
    if (::mount(dir, target.c_str(), nullptr, MS_MOVE, nullptr) != 0) ::umount2(dir, MNT_DETACH);
  }
  if (::chdir("/newroot") != 0) return std::string("chdir /newroot: ") + std::strerror(errno);
  if (::mount(".", "/", nullptr, MS_MOVE, nullptr) != 0)
    return std::string("move /newroot to /: ") + std::strerror(errno);
  if (::chroot(".") != 0 || ::chdir("/") != 0)
    return std::string("chroot /newroot: ") + std::strerror(errno);
  return {};
}

void power_off() {
  ::kill(-1, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  // Reap until no child is left or the grace period ends.
  while (std::chrono::steady_clock::now() < deadline) {
    pid_t pid = ::waitpid(-1, nullptr, WNOHANG);
    if (pid < 0 && errno == ECHILD) break;
    if (pid <= 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(-1, SIGKILL);
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  ::sync();
  ::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_RDONLY, nullptr);
  ::sync();
  ::reboot(RB_AUTOBOOT);
  for (;;) ::pause();  // reboot failed: PID 1 must not exit (the kernel would panic)
}

}  // namespace sandbox
