// Implementation of the vCPU thread: signal-based kicks, the pause/stop state machine and exit
// dispatch. Everything read from kvm_run after an exit is KVM-written, but the access address and
// width come from the guest: the buses bound them.
#include "vmm/machine/vcpu_runner.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>

#include <spdlog/spdlog.h>

namespace minivmm {
namespace {

// The kick signal. Its handler does nothing: the point is to interrupt KVM_RUN with EINTR.
int kick_signal() {
  return SIGRTMIN;
}

void install_kick_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_handler = [](int) {};
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: KVM_RUN must return EINTR
    sigaction(kick_signal(), &sa, nullptr);
  });
}

const char* system_event_name(uint32_t type) {
  switch (type) {
    case KVM_SYSTEM_EVENT_SHUTDOWN:
      return "shutdown";
    case KVM_SYSTEM_EVENT_RESET:
      return "reset";
    case KVM_SYSTEM_EVENT_CRASH:
      return "crash";
    default:
      return "unknown";
  }
}

}  // namespace

VcpuRunner::~VcpuRunner() {
  request_stop();
  join();
}

void VcpuRunner::start() {
  install_kick_handler();
  m_thread = std::thread([this] {
    thread_main();
    {
      std::lock_guard lock(m_mutex);
      m_ended = true;
    }
    m_cv.notify_all();
    if (m_ctx.on_thread_exit) m_ctx.on_thread_exit();
  });
  std::unique_lock lock(m_mutex);
  m_cv.wait(lock, [&] { return m_tid.load() != 0; });
}

void VcpuRunner::kick() {
  m_vcpu.run_data()->immediate_exit = 1;
  if (m_thread.joinable()) pthread_kill(m_thread.native_handle(), kick_signal());
}

void VcpuRunner::pause() {
  {
    std::lock_guard lock(m_mutex);
    if (m_state != State::running) return;
    m_state = State::paused;
  }
  kick();
}

void VcpuRunner::wait_parked() {
  std::unique_lock lock(m_mutex);
  m_cv.wait(lock, [&] { return m_parked.load() || m_state != State::paused || m_ended; });
}

void VcpuRunner::resume() {
  {
    std::lock_guard lock(m_mutex);
    if (m_state != State::paused) return;
    m_state = State::running;
  }
  m_cv.notify_all();
}

void VcpuRunner::request_stop() {
  {
    std::lock_guard lock(m_mutex);
    if (m_state == State::stopped) return;
    m_state = State::stopped;
  }
  m_cv.notify_all();
  kick();
}

void VcpuRunner::join() {
  if (m_thread.joinable() && m_thread.get_id() != std::this_thread::get_id()) m_thread.join();
}

VcpuRunner::State VcpuRunner::wait_runnable() {
  std::unique_lock lock(m_mutex);
  if (m_state == State::paused) {
    m_parked.store(true);
    m_cv.notify_all();  // wake wait_parked()
    m_cv.wait(lock, [&] { return m_state != State::paused; });
    m_parked.store(false);
  }
  if (m_state == State::running) m_vcpu.run_data()->immediate_exit = 0;
  return m_state;
}

void VcpuRunner::thread_main() {
  {
    // start() waits for this: an embedder pins the thread ids right after Machine::start.
    std::lock_guard lock(m_mutex);
    m_tid.store(static_cast<pid_t>(::syscall(SYS_gettid)));
  }
  m_cv.notify_all();
  // Block nothing: the kick signal must reach this thread.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, kick_signal());
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  if (m_ctx.before_first_run) m_ctx.before_first_run();
  for (;;) {
    if (wait_runnable() == State::stopped) return;
    int rc = m_vcpu.run();
    m_exits.fetch_add(1, std::memory_order_relaxed);
    if (rc == -EINTR || rc == -EAGAIN) continue;
    if (rc != 0) {
      m_ctx.stop.stop(ExitReason::internal_error,
                      fmt::format("KVM_RUN vcpu={}: {}", m_vcpu.id(), std::strerror(-rc)));
      return;
    }
    if (!handle_exit()) return;
  }
}

bool VcpuRunner::handle_exit() {
  kvm_run* run = m_vcpu.run_data();
  switch (run->exit_reason) {
    case KVM_EXIT_IO:
      handle_io();
      return true;
    case KVM_EXIT_MMIO:
      handle_mmio();
      return true;
    case KVM_EXIT_INTR:
      return true;
    case KVM_EXIT_HLT:
      // With the in-kernel LAPIC, HLT is handled by KVM; reaching here means the guest halted
      // for good (no interrupt can wake it), which only happens on a power-off without ACPI.
      m_ctx.stop.stop(ExitReason::guest_shutdown, fmt::format("vcpu {} halted", m_vcpu.id()));
      return false;
    case KVM_EXIT_SHUTDOWN:
      m_ctx.stop.stop(ExitReason::triple_fault,
                      fmt::format("vcpu {} triple fault; {}", m_vcpu.id(), describe_registers()));
      return false;
    case KVM_EXIT_SYSTEM_EVENT: {
      uint32_t type = run->system_event.type;
      ExitReason reason = type == KVM_SYSTEM_EVENT_RESET      ? ExitReason::guest_reset
                          : type == KVM_SYSTEM_EVENT_SHUTDOWN ? ExitReason::guest_shutdown
                                                              : ExitReason::internal_error;
      m_ctx.stop.stop(reason,
                      fmt::format("vcpu {} system event {}", m_vcpu.id(), system_event_name(type)));
      return false;
    }
    case KVM_EXIT_INTERNAL_ERROR:
      m_ctx.stop.stop(ExitReason::internal_error,
                      fmt::format("vcpu {} KVM internal error suberror={}; {}", m_vcpu.id(),
                                  run->internal.suberror, describe_registers()));
      return false;
    case KVM_EXIT_FAIL_ENTRY:
      m_ctx.stop.stop(
          ExitReason::internal_error,
          fmt::format("vcpu {} VM entry failed reason={:#x}; {}", m_vcpu.id(),
                      run->fail_entry.hardware_entry_failure_reason, describe_registers()));
      return false;
    default:
      m_ctx.stop.stop(ExitReason::internal_error,
                      fmt::format("vcpu {} unhandled KVM exit {}; {}", m_vcpu.id(),
                                  run->exit_reason, describe_registers()));
      return false;
  }
}

void VcpuRunner::handle_io() {
  kvm_run* run = m_vcpu.run_data();
  auto* data = reinterpret_cast<uint8_t*>(run) + run->io.data_offset;
  const uint16_t port = run->io.port;
  const size_t size = run->io.size;
  // String I/O (rep outsb/insb) arrives as `count` back-to-back elements of `size` bytes.
  for (uint32_t i = 0; i < run->io.count; ++i) {
    uint8_t* el = data + i * size;
    bool ok;
    if (run->io.direction == KVM_EXIT_IO_OUT) {
      ok = m_ctx.pio.write(port, std::span<const uint8_t>(el, size));
    } else {
      ok = m_ctx.pio.read(port, std::span<uint8_t>(el, size));
      if (!ok) std::memset(el, 0xff, size);  // unassigned port: all-ones, like an ISA bus
    }
    if (!ok && m_ctx.unassigned_log.allow())
      spdlog::debug("vcpu {}: unassigned PIO {} port={:#x} size={}", m_vcpu.id(),
                    run->io.direction == KVM_EXIT_IO_OUT ? "write" : "read", port, size);
  }
}

void VcpuRunner::handle_mmio() {
  kvm_run* run = m_vcpu.run_data();
  // Guest-controlled: len; KVM caps it at 8 (the size of mmio.data).
  const size_t len = std::min<size_t>(run->mmio.len, sizeof run->mmio.data);
  const uint64_t addr = run->mmio.phys_addr;
  bool ok;
  if (run->mmio.is_write) {
    ok = m_ctx.mmio.write(addr, std::span<const uint8_t>(run->mmio.data, len));
  } else {
    ok = m_ctx.mmio.read(addr, std::span<uint8_t>(run->mmio.data, len));
    if (!ok) std::memset(run->mmio.data, 0xff, len);
  }
  if (!ok && m_ctx.unassigned_log.allow())
    spdlog::warn("vcpu {}: unassigned MMIO {} addr={:#x} len={}", m_vcpu.id(),
                 run->mmio.is_write ? "write" : "read", addr, len);
}

std::string VcpuRunner::describe_registers() const {
  auto regs = m_vcpu.get_regs();
  auto sregs = m_vcpu.get_sregs();
  if (!regs || !sregs) return "registers unavailable";
  return fmt::format(
      "rip={:#x} rsp={:#x} rflags={:#x} rax={:#x} rbx={:#x} rcx={:#x} rdx={:#x} rsi={:#x} "
      "rdi={:#x} cr0={:#x} cr3={:#x} cr4={:#x} efer={:#x} cs={:#x}",
      regs->rip, regs->rsp, regs->rflags, regs->rax, regs->rbx, regs->rcx, regs->rdx, regs->rsi,
      regs->rdi, sregs->cr0, sregs->cr3, sregs->cr4, sregs->efer, sregs->cs.selector);
}

}  // namespace minivmm
