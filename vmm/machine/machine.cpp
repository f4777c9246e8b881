// The Machine lifecycle: create (delegates to build_machine), start, pause/resume, request_stop
// and wait, every call checked by the lifecycle table (lifecycle.hpp) under its lock. A stop,
// whoever decides it, kicks every vCPU and stops the event loop; each of those threads reports
// its end, and the last one moves the machine to stopped, so no thread outlives a stopped
// Machine whether or not anyone waits. The public member functions forward to Machine::Impl.
#include <minivmm/machine.hpp>

#include <exception>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include "vmm/machine/machine_impl.hpp"
#include "vmm/sys/process_start.hpp"

namespace minivmm {

const char* to_string(ExitReason r) noexcept {
  switch (r) {
    case ExitReason::guest_reset:
      return "guest reset";
    case ExitReason::guest_shutdown:
      return "guest shutdown";
    case ExitReason::triple_fault:
      return "triple fault";
    case ExitReason::internal_error:
      return "internal error";
    case ExitReason::stopped_by_host:
      return "stopped by host";
    case ExitReason::graceful_stop_timeout:
      return "graceful stop timed out";
  }
  return "unknown";
}

Machine::Impl::~Impl() {
  shutdown_threads();
  // Devices and the deadline timer hold objects registered with the loop's io_context: free them
  // while it exists (members are destroyed in reverse order, the loop before the devices).
  graceful_timer.reset();
  for (auto& t : virtio_transports) t->reset_device();
}

void Machine::Impl::shutdown_threads() {
  stop.stop(ExitReason::stopped_by_host, "machine destroyed");
  join_threads();
}

void Machine::Impl::join_threads() {
  std::lock_guard lock(join_mutex);
  for (auto& v : vcpus) v->join();
  loop.join();
}

void Machine::Impl::on_stop_decided() {
  auto status = stop.status();
  const bool by_host = status && (status->reason == ExitReason::stopped_by_host ||
                                  status->reason == ExitReason::graceful_stop_timeout);
  // In created this is created -> stopped; running or paused go to stopping.
  if (!lifecycle.apply(by_host ? LifecycleEvent::stop : LifecycleEvent::guest_exit))
    (void)lifecycle.apply(LifecycleEvent::stop);
  for (auto& v : vcpus) v->request_stop();
  loop.stop();
}

void Machine::Impl::on_thread_exit() {
  if (live_threads.fetch_sub(1) != 1) return;
  // A thread can only end after a stop was decided; should one end on its own (a handler threw),
  // the machine stops all the same rather than hang in running.
  stop.stop(ExitReason::internal_error, "a vCPU or the event-loop thread ended unexpectedly");
  (void)lifecycle.apply(LifecycleEvent::stop);  // no change unless the stop is still in flight
  (void)lifecycle.apply(LifecycleEvent::threads_exited);
}

void Machine::Impl::report_device_error(const std::string& device, const std::string& message) {
  spdlog::warn("device {}: {}", device, message);
  if (!config.on_device_error) return;
  // Devices report from inside their handlers, often with their locks held: the embedder's
  // callback runs later on the event loop, where it may query the machine freely.
  boost::asio::post(loop.io_context(), [this, e = DeviceError{device, message}] {
    try {
      config.on_device_error(e);
    } catch (const std::exception& ex) {
      spdlog::error("on_device_error for {} threw: {}", e.device, ex.what());
    }
  });
}

Result<void> Machine::Impl::start() {
  MINIVMM_TRY_VOID(lifecycle.apply(LifecycleEvent::start, [this](MachineState, MachineState) {
    timeline->mark("start_called");
    started_at_ns.store(std::chrono::steady_clock::now().time_since_epoch().count());
    live_threads.store(static_cast<uint32_t>(vcpus.size()) + 1);
    if (config.console.stdin_input) start_console_input();
    loop.start([this] { on_thread_exit(); });
    for (auto& v : vcpus) v->start();
    return Result<void>{};
  }));
  return {};
}

Result<void> Machine::Impl::pause() {
  MINIVMM_TRY_VOID(lifecycle.apply(LifecycleEvent::pause, [this](MachineState, MachineState) {
    for (auto& v : vcpus) v->pause();
    return Result<void>{};
  }));
  // Outside the lock: a vCPU finishing its exit may need it (a guest reset stops the machine).
  for (auto& v : vcpus) v->wait_parked();
  return {};
}

Result<void> Machine::Impl::resume() {
  MINIVMM_TRY_VOID(lifecycle.apply(LifecycleEvent::resume, [this](MachineState, MachineState) {
    for (auto& v : vcpus) v->resume();
    return Result<void>{};
  }));
  return {};
}

Result<ExitStatus> Machine::Impl::wait(std::optional<std::chrono::milliseconds> timeout) {
  const char* call = timeout ? "wait_for" : "wait";
  if (MachineState s = lifecycle.state(); s == MachineState::created)
    return make_error(ErrorCode::invalid_state, "{}: machine is {}", call, to_string(s));
  if (!lifecycle.wait_for_state(MachineState::stopped, timeout))
    return make_error(ErrorCode::timeout, "{}: machine still {} after {} ms", call,
                      to_string(lifecycle.state()), timeout->count());
  join_threads();
  auto status = stop.status();
  MINIVMM_ASSERT(status.has_value(), "a stopped machine has a stop reason");
  return *status;
}

Result<std::unique_ptr<Machine>> Machine::create(const MachineConfig& config) {
  MINIVMM_TRY(impl, build_machine(config));
  Impl* raw = impl.get();
  raw->stop.set_on_stop([raw] { raw->on_stop_decided(); });
  return std::unique_ptr<Machine>(new Machine(std::move(impl)));
}

Machine::Machine(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Machine::~Machine() = default;
MachineState Machine::state() const noexcept {
  return m_impl->lifecycle.state();
}
Result<void> Machine::start() {
  return m_impl->start();
}
Result<void> Machine::pause() {
  return m_impl->pause();
}
Result<void> Machine::resume() {
  return m_impl->resume();
}
Result<void> Machine::request_graceful_stop(std::chrono::milliseconds deadline) {
  return m_impl->request_graceful_stop(deadline);
}
void Machine::request_stop() noexcept {
  m_impl->stop.stop(ExitReason::stopped_by_host, "stop requested by the host");
}
Result<ExitStatus> Machine::wait() {
  return m_impl->wait(std::nullopt);
}
Result<ExitStatus> Machine::wait_for(std::chrono::milliseconds timeout) {
  return m_impl->wait(timeout);
}
Result<void> Machine::send_console_input(std::string_view bytes) {
  return m_impl->send_console_input(bytes);
}
std::vector<pid_t> Machine::vcpu_thread_ids() const {
  std::vector<pid_t> ids;
  for (const auto& v : m_impl->vcpus) ids.push_back(v->thread_id());
  return ids;
}
std::string Machine::vsock_uds_path() const {
  return m_impl->vsock ? m_impl->vsock->uds_path() : std::string();
}
Result<void> Machine::replace_disk(std::string_view id, const std::string& path) {
  return m_impl->replace_disk(id, path);
}
Result<void> Machine::set_disk_read_only(std::string_view id, bool read_only) {
  return m_impl->set_disk_read_only(id, read_only);
}
std::vector<BootTimerEvent> Machine::boot_timer_events() const {
  return m_impl->boot_timer->events();
}
BootTiming Machine::boot_timing() const {
  BootTiming t;
  t.exec_reference = to_string(process_start().source);
  t.phases = m_impl->timeline->phases();
  t.markers = m_impl->boot_timer->events();
  return t;
}
Metrics Machine::metrics() const {
  return m_impl->collect_metrics();
}
std::vector<NetStats> Machine::net_stats() const {
  return m_impl->collect_net_stats();
}
std::optional<VsockStats> Machine::vsock_stats() const {
  return m_impl->collect_vsock_stats();
}

}  // namespace minivmm
