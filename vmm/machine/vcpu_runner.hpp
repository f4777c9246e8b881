// VcpuRunner: the thread that owns one vCPU. It runs a blocking KVM_RUN loop with an explicit
// state machine (running, paused, stopped), dispatches PIO/MMIO exits to the buses, and turns
// terminal exits (triple fault, system events, internal errors) into a stop of the whole machine.
// Kicks use a real-time signal plus kvm_run.immediate_exit so a kick is never lost. It does not
// set up CPU state (cpu_setup.hpp) or own devices.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "vmm/bus/bus.hpp"
#include "vmm/kvm/vcpu.hpp"
#include "vmm/machine/stop_controller.hpp"
#include "vmm/sys/rate_limit.hpp"

namespace minivmm {

/// What the vCPU threads share: the buses, the stop latch, the log limiter, a hook called on
/// each vCPU thread right before its first KVM_RUN (start timing) and one called as the thread's
/// last act (the machine counts ended threads). Hooks may be empty.
struct VcpuContext {
  const Bus& pio;
  const Bus& mmio;
  StopController& stop;
  RateLimiter& unassigned_log;
  std::function<void()> before_first_run;
  std::function<void()> on_thread_exit;
};

class VcpuRunner {
 public:
  enum class State { running, paused, stopped };

  VcpuRunner(Vcpu vcpu, VcpuContext ctx) : m_vcpu(std::move(vcpu)), m_ctx(ctx) {}
  ~VcpuRunner();

  /// Starts the thread (once).
  void start();
  /// Moves to paused/running; a paused vCPU sits outside KVM_RUN until resumed. pause() only
  /// asks (kicks); wait_parked() blocks until the thread is parked, resumed, stopped or ended.
  void pause();
  void wait_parked();
  void resume();
  /// Moves to stopped and kicks; the thread exits. Idempotent.
  void request_stop();
  void join();
  /// The OS thread id of the vCPU thread (0 before start()).
  pid_t thread_id() const noexcept { return m_tid.load(); }
  /// True once the thread is parked in the paused state.
  bool parked() const noexcept { return m_parked.load(); }
  /// KVM_RUN returns so far (any thread may read it).
  uint64_t exits() const noexcept { return m_exits.load(std::memory_order_relaxed); }
  uint32_t index() const noexcept { return m_vcpu.id(); }

 private:
  void thread_main();
  void kick();
  /// Handles one exit; false when the vCPU must stop.
  bool handle_exit();
  void handle_io();
  void handle_mmio();
  std::string describe_registers() const;
  /// Blocks while paused; returns the state to act on.
  State wait_runnable();

  Vcpu m_vcpu;
  VcpuContext m_ctx;
  std::thread m_thread;
  std::atomic<pid_t> m_tid{0};
  std::atomic<bool> m_parked{false};
  std::atomic<uint64_t> m_exits{0};
  bool m_ended = false;  // guarded by m_mutex: thread_main returned
  std::mutex m_mutex;
  std::condition_variable m_cv;
  State m_state = State::running;  // guarded by m_mutex
};

}  // namespace minivmm
