// StopController: records why a machine stops (the first reason wins), runs the stop action
// (kick the vCPUs, stop the event loop) exactly once, and lets wait() block until then. Any
// thread may call stop(): a vCPU on a triple fault, a device on reset, the embedder.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include <minivmm/machine.hpp>

namespace minivmm {

class StopController {
 public:
  /// The action to run once, on the first stop(). Set before any thread starts.
  void set_on_stop(std::function<void()> on_stop) { m_on_stop = std::move(on_stop); }
  /// Records the reason if none is recorded yet and runs the stop action. Thread-safe.
  void stop(ExitReason reason, std::string detail);
  bool stopping() const noexcept { return m_stopping.load(std::memory_order_acquire); }
  /// Blocks until stop() was called; returns the first reason.
  ExitStatus wait_reason();
  /// The first reason, if stop() was called (the stop action may read it).
  std::optional<ExitStatus> status() const;

 private:
  std::atomic<bool> m_stopping{false};
  mutable std::mutex m_mutex;
  std::condition_variable m_cv;
  std::optional<ExitStatus> m_status;
  std::function<void()> m_on_stop;
};

}  // namespace minivmm
