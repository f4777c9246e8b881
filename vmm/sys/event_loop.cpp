// Implementation of the event-loop thread.
#include "vmm/sys/event_loop.hpp"

#include <spdlog/spdlog.h>

#include <exception>

namespace minivmm {

EventLoop::EventLoop() : m_guard(boost::asio::make_work_guard(m_io)) {}

EventLoop::~EventLoop() {
  stop();
  join();
}

void EventLoop::start(std::function<void()> on_exit) {
  m_thread = std::thread([this, on_exit = std::move(on_exit)] {
    try {
      m_io.run();
    } catch (const std::exception& e) {
      // A handler threw: our bug. Log it and let the machine notice the loop is gone.
      spdlog::error("event loop: handler threw: {}", e.what());
    }
    if (on_exit) on_exit();
  });
}

void EventLoop::stop() noexcept {
  m_io.stop();
}

void EventLoop::join() {
  if (m_thread.joinable() && m_thread.get_id() != std::this_thread::get_id()) m_thread.join();
}

}  // namespace minivmm
