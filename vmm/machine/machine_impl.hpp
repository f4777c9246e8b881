// Machine::Impl: everything one running VM owns, in destruction-safe order (threads are declared
// last so they are joined before the memory and devices they use go away). The build steps live
// in machine_builder.cpp, the lifecycle in machine.cpp (states in lifecycle.hpp), the graceful
// stop in graceful_stop.cpp, console input in console_input.cpp, counters in metrics_collect.cpp
// and disk changes in disk_control.cpp.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include <minivmm/machine.hpp>
#include "devices/block/block_device.hpp"
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
#include "vmm/machine/lifecycle.hpp"
#include "vmm/machine/start_timeline.hpp"
#include "vmm/machine/stop_controller.hpp"
#include "vmm/machine/vcpu_runner.hpp"
#include "vmm/memory/guest_memory.hpp"
#include "vmm/sys/error.hpp"
#include "vmm/sys/event_fd.hpp"
#include "vmm/sys/event_loop.hpp"
#include "vmm/sys/rate_limit.hpp"

namespace minivmm {

/// One virtio-blk disk as the API sees it (Machine::replace_disk, metrics).
struct AttachedDisk {
  std::string id;
  std::string serial;  ///< the GET_ID serial the guest saw, kept across file changes
  std::shared_ptr<block::BlockDevice> device;
  std::shared_ptr<virtio::MmioTransport> transport;  ///< re-reads features after an RO change
};

// Hidden: the public Machine class is exported, and a nested class would inherit that.
class [[gnu::visibility("hidden")]] Machine::Impl {
 public:
  Impl(std::unique_ptr<StartTimeline> t, Kvm k, Vm v, GuestMemory mem, ConsoleSink con)
      : timeline(std::move(t)),
        kvm(std::move(k)),
        vm(std::move(v)),
        memory(std::move(mem)),
        console(std::move(con)) {}
  ~Impl();

  Result<void> start();
  /// Blocks until stopped (or `timeout`: ErrorCode::timeout) and joins every thread.
  Result<ExitStatus> wait(std::optional<std::chrono::milliseconds> timeout);
  Result<void> pause();
  Result<void> resume();
  Result<void> request_graceful_stop(std::chrono::milliseconds deadline);  // graceful_stop.cpp
  /// The stop action (StopController): moves the lifecycle and ends every thread. Once.
  void on_stop_decided();
  /// The last act of each vCPU and event-loop thread; the last one moves to stopped.
  void on_thread_exit();
  void shutdown_threads();
  void join_threads();
  void start_console_input();                                               // console_input.cpp
  Result<void> send_console_input(std::string_view bytes);                  // console_input.cpp
  Metrics collect_metrics() const;                                          // metrics_collect.cpp
  std::vector<NetStats> collect_net_stats() const;                          // metrics_collect.cpp
  std::optional<VsockStats> collect_vsock_stats() const;                    // metrics_collect.cpp
  Result<void> replace_disk(std::string_view id, const std::string& path);  // disk_control.cpp
  Result<void> set_disk_read_only(std::string_view id, bool read_only);     // disk_control.cpp
  /// Reports a device failure to MachineConfig::on_device_error (no lock held).
  void report_device_error(const std::string& device, const std::string& message);

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
  std::optional<EventFd> i8042_irq;
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
  std::vector<AttachedDisk> disks;                    ///< in config order
  std::vector<std::shared_ptr<net::NetDevice>> nets;  ///< in config order (net_stats)
  std::shared_ptr<vsock::VsockDevice> vsock;
  std::vector<std::shared_ptr<fs::FsDevice>> fs_devices;
  std::vector<std::string> fs_tags;  ///< the mount tag of each fs_devices entry

  Lifecycle lifecycle{[this](MachineState from, MachineState to) {
    if (config.on_state_change) config.on_state_change(from, to);
  }};
  bool graceful_pending = false;  ///< guarded by lifecycle's lock (set in its action)
  /// The graceful-stop deadline; reset in ~Impl while the io_context still exists.
  std::unique_ptr<boost::asio::steady_timer> graceful_timer;
  /// steady_clock nanoseconds at start(); 0 before.
  std::atomic<int64_t> started_at_ns{0};
  std::atomic<uint32_t> live_threads{0};
  std::mutex join_mutex;  ///< serialises joins from concurrent wait() callers
  std::shared_ptr<std::function<void()>> console_reader;

  // Threads last: destroyed (joined) first.
  EventLoop loop;
  std::vector<std::unique_ptr<VcpuRunner>> vcpus;
};

/// Builds a fully wired, not yet running machine (machine_builder.cpp).
Result<std::unique_ptr<Machine::Impl>> build_machine(const MachineConfig& config);

}  // namespace minivmm
