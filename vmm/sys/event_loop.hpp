// EventLoop: the one thread per machine that runs everything asynchronous (console input now;
// queue ioeventfds, tap, vsock and vhost-user sockets later) on a Boost.Asio io_context.
// Handlers must not block. It owns the thread and the io_context; users post work or register
// descriptors through io_context().
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <optional>
#include <thread>

namespace minivmm {

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();  ///< stop() + join()
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  boost::asio::io_context& io_context() noexcept { return m_io; }
  /// Starts the thread (once). `on_exit`, if set, is the thread's last act, however run() ended
  /// (stop() or a handler that threw).
  void start(std::function<void()> on_exit = {});
  /// Asks the loop to finish; pending handlers are abandoned. Thread-safe.
  void stop() noexcept;
  void join();

 private:
  boost::asio::io_context m_io{1};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> m_guard;
  std::thread m_thread;
};

}  // namespace minivmm
