// The Machine lifecycle: create (delegates to build_machine), start, pause/resume, wait and
// request_stop, with every call checked against the lifecycle state. Stopping kicks every vCPU
// and stops the event loop; wait() joins them, so no thread outlives a stopped Machine.
#include <minivmm/machine.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <array>

#include <spdlog/spdlog.h>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>

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
  }
  return "unknown";
}

Machine::Impl::~Impl() {
  shutdown_threads();
  // Devices hold descriptors registered with the loop's io_context: stop them while it exists
  // (members are destroyed in reverse order, the loop before the devices).
  for (auto& t : virtio_transports) t->reset_device();
}

void Machine::Impl::shutdown_threads() {
  stop.stop(ExitReason::stopped_by_host, "machine destroyed");
  for (auto& v : vcpus) v->join();
  loop.join();
}

void Machine::Impl::start_console_input() {
  int fd = ::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return;
  auto in = std::make_shared<boost::asio::posix::stream_descriptor>(loop.io_context());
  boost::system::error_code ec;
  in->assign(fd, ec);
  if (ec) {  // e.g. a regular file, which epoll refuses: no interactive input then
    ::close(fd);
    spdlog::debug("console input: stdin cannot be polled: {}", ec.message());
    return;
  }
  auto buf = std::make_shared<std::array<uint8_t, 512>>();
  auto reader = std::make_shared<std::function<void()>>();
  std::weak_ptr<std::function<void()>> weak = reader;
  *reader = [this, in, buf, weak] {
    in->async_read_some(boost::asio::buffer(*buf), [this, in, buf, weak](auto error, size_t n) {
      if (error) return;  // EOF or loop stopped: input simply ends
      serial->enqueue_input(std::span<const uint8_t>(buf->data(), n));
      if (auto next = weak.lock()) (*next)();
    });
  };
  // The reader owns itself through the io_context's pending handler chain; keep one strong ref
  // in a posted task so the chain survives until the loop stops.
  boost::asio::post(loop.io_context(), [reader] { (*reader)(); });
  console_reader = reader;
}

Result<void> Machine::Impl::start() {
  std::lock_guard lock(lifecycle_mutex);
  if (lifecycle != Lifecycle::created)
    return make_error(ErrorCode::invalid_state, "start: machine was already started");
  if (stop.stopping())
    return make_error(ErrorCode::invalid_state, "start: machine was stopped before it started");
  timeline->mark("start_called");
  stop.set_on_stop([this] {
    for (auto& v : vcpus) v->request_stop();
    loop.stop();
  });
  if (config.console.stdin_input) start_console_input();
  loop.start();
  for (auto& v : vcpus) v->start();
  lifecycle = Lifecycle::running;
  return {};
}

Result<void> Machine::Impl::pause() {
  std::lock_guard lock(lifecycle_mutex);
  if (lifecycle != Lifecycle::running || stop.stopping())
    return make_error(ErrorCode::invalid_state, "pause: machine is not running");
  for (auto& v : vcpus) v->pause();
  lifecycle = Lifecycle::paused;
  return {};
}

Result<void> Machine::Impl::resume() {
  std::lock_guard lock(lifecycle_mutex);
  if (lifecycle != Lifecycle::paused || stop.stopping())
    return make_error(ErrorCode::invalid_state, "resume: machine is not paused");
  for (auto& v : vcpus) v->resume();
  lifecycle = Lifecycle::running;
  return {};
}

ExitStatus Machine::Impl::wait() {
  {
    std::lock_guard lock(lifecycle_mutex);
    if (lifecycle == Lifecycle::created)
      return {ExitReason::internal_error, "wait: machine was never started"};
    if (final_status) return *final_status;
  }
  ExitStatus status = stop.wait_reason();
  for (auto& v : vcpus) v->join();
  loop.join();
  std::lock_guard lock(lifecycle_mutex);
  lifecycle = Lifecycle::stopped;
  final_status = status;
  return status;
}

Result<std::unique_ptr<Machine>> Machine::create(const MachineConfig& config) {
  MINIVMM_TRY(impl, build_machine(config));
  return std::unique_ptr<Machine>(new Machine(std::move(impl)));
}

Machine::Machine(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Machine::~Machine() = default;
Result<void> Machine::start() {
  return m_impl->start();
}
Result<void> Machine::pause() {
  return m_impl->pause();
}
Result<void> Machine::resume() {
  return m_impl->resume();
}
ExitStatus Machine::wait() {
  return m_impl->wait();
}
void Machine::request_stop() noexcept {
  m_impl->stop.stop(ExitReason::stopped_by_host, "stop requested by the host");
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
std::vector<NetStats> Machine::net_stats() const {
  std::vector<NetStats> out;
  for (const auto& dev : m_impl->nets) {
    net::NetCounters c = dev->counters();
    NetStats s;
    s.tap_name = dev->tap_name();
    s.mac = dev->mac();
    s.link_up = c.link_up;
    s.rx_packets = c.rx_packets;
    s.rx_bytes = c.rx_bytes;
    s.rx_drops = c.rx_drops;
    s.rx_errors = c.rx_errors;
    s.tx_packets = c.tx_packets;
    s.tx_bytes = c.tx_bytes;
    s.tx_drops = c.tx_drops;
    s.tx_errors = c.tx_errors;
    out.push_back(std::move(s));
  }
  return out;
}
std::optional<VsockStats> Machine::vsock_stats() const {
  if (!m_impl->vsock) return std::nullopt;
  vsock::VsockCounters c = m_impl->vsock->counters();
  VsockStats s;
  s.uds_path = m_impl->vsock->uds_path();
  s.guest_cid = m_impl->vsock->guest_cid();
  s.rx_packets = c.rx_packets;
  s.rx_bytes = c.rx_bytes;
  s.tx_packets = c.tx_packets;
  s.tx_bytes = c.tx_bytes;
  s.connections_opened = c.connections_opened;
  s.connections_reset = c.connections_reset;
  s.active_connections = c.active_connections;
  s.dropped_packets = c.dropped_packets;
  return s;
}
std::vector<pid_t> Machine::vcpu_thread_ids() const {
  std::vector<pid_t> ids;
  for (const auto& v : m_impl->vcpus) ids.push_back(v->thread_id());
  return ids;
}

}  // namespace minivmm
