// Machine::Impl: everything one running VM owns, in destruction-safe order (threads are declared
// last so they are joined before the memory and devices they use go away). The build steps live
// in machine_builder.cpp, the lifecycle in machine.cpp.
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include <minivmm/machine.hpp>
#include "devices/fs/fs_device.hpp"
#include "devices/fs/virtiofsd_launcher.hpp"
#include "devices/legacy/boot_timer.hpp"
#include "devices/legacy/i8042.hpp"
#include "devices/legacy/serial.hpp"
#include "devices/net/net_device.hpp"
#include "devices/virtio/mmio_transport.hpp"
#include "devices/vsock/vsock_device.hpp"
#include "vmm/bus/bus.hpp"
#include "vmm/kvm/kvm.hpp"
#include "vmm/machine/console_sink.hpp"
#include "vmm/machine/start_timeline.hpp"
#include "vmm/machine/stop_controller.hpp"
#include "vmm/machine/vcpu_runner.hpp"
#include "vmm/memory/guest_memory.hpp"
#include "vmm/sys/event_fd.hpp"
#include "vmm/sys/event_loop.hpp"
#include "vmm/sys/rate_limit.hpp"

namespace minivmm {

class Machine::Impl {
 public:
  enum class Lifecycle { created, running, paused, stopped };

  Impl(std::unique_ptr<StartTimeline> t, Kvm k, Vm v, GuestMemory mem, ConsoleSink con)
      : timeline(std::move(t)),
        kvm(std::move(k)),
        vm(std::move(v)),
        memory(std::move(mem)),
        console(std::move(con)) {}
  ~Impl();

  Result<void> start();
  ExitStatus wait();
  Result<void> pause();
  Result<void> resume();
  void shutdown_threads();
  void start_console_input();

  MachineConfig config;
  std::chrono::steady_clock::time_point created_at;
  std::unique_ptr<StartTimeline> timeline;
  Kvm kvm;
  Vm vm;
  GuestMemory memory;
  ConsoleSink console;
  Bus pio_bus;
  Bus mmio_bus;
  StopController stop;
  RateLimiter unassigned_log{10};
  std::optional<EventFd> serial_irq;
  std::shared_ptr<Serial> serial;
  std::shared_ptr<I8042> i8042;
  std::shared_ptr<BootTimer> boot_timer;
  /// A private directory for virtiofsd sockets, removed (with its contents) last.
  struct RuntimeDir {
    std::string path;
    RuntimeDir() = default;
    RuntimeDir(const RuntimeDir&) = delete;
    RuntimeDir& operator=(const RuntimeDir&) = delete;
    ~RuntimeDir();
  };
  RuntimeDir fs_runtime_dir;
  /// virtiofsd processes started for shares; declared before the devices so they are stopped
  /// and reaped after the devices closed their connections.
  std::vector<std::unique_ptr<fs::VirtiofsdProcess>> virtiofsd;
  /// Reset in ~Impl after the threads stop, while the io_context still exists.
  std::vector<std::shared_ptr<virtio::MmioTransport>> virtio_transports;
  std::vector<std::shared_ptr<net::NetDevice>> nets;  ///< in config order (net_stats)
  std::shared_ptr<vsock::VsockDevice> vsock;
  std::vector<std::shared_ptr<fs::FsDevice>> fs_devices;

  std::mutex lifecycle_mutex;
  Lifecycle lifecycle = Lifecycle::created;
  bool waited = false;
  std::optional<ExitStatus> final_status;
  std::shared_ptr<std::function<void()>> console_reader;

  // Threads last: destroyed (joined) first.
  EventLoop loop;
  std::vector<std::unique_ptr<VcpuRunner>> vcpus;
};

/// Builds a fully wired, not yet running machine (machine_builder.cpp).
Result<std::unique_ptr<Machine::Impl>> build_machine(const MachineConfig& config);

}  // namespace minivmm
