// One sandbox as sandbox-run uses it: a private runtime directory (the initramfs with the agent
// as /init, the hybrid vsock socket), a minivmm Machine booted with the agent as init and the
// root as a virtiofs share (--rootfs-dir) or a virtio-blk ext4 disk (--rootfs), and its orderly
// end. The protocol conversation with the agent is client.hpp's.
#pragma once

#include <memory>
#include <string>

#include <minivmm/machine.hpp>
#include <tl/expected.hpp>

#include "examples/sandbox/host/client.hpp"
#include "examples/sandbox/host/options.hpp"

namespace sandbox {

/// When boot steps finished, for --timing.
struct BootTimes {
  Clock::time_point created{};  ///< Machine::create returned
  Clock::time_point started{};  ///< Machine::start returned
};

class Sandbox {
 public:
  /// Checks the files the options name (errors name them), writes the initramfs, creates and
  /// starts the machine.
  static tl::expected<std::unique_ptr<Sandbox>, std::string> boot(const Options& o,
                                                                  BootTimes& times);
  /// Stops the machine if still running (see shutdown) and removes the runtime directory.
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  const std::string& vsock_path() const noexcept { return m_vsock_path; }
  /// False once the machine is stopping or stopped (the guest died or rebooted).
  bool alive() const noexcept;
  /// Why the machine stopped, for error messages ("" while it runs).
  std::string stop_reason();
  /// Asks the agent to power off (SHUTDOWN: it syncs and remounts the root read-only), waits a
  /// few seconds for the guest's reboot, then stops the machine hard; waits for the end.
  void shutdown();

 private:
  Sandbox() = default;
  std::string m_dir;
  std::string m_vsock_path;
  std::unique_ptr<minivmm::Machine> m_machine;
};

}  // namespace sandbox
