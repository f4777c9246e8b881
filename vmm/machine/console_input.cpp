// Host input to the guest's serial console: the process's stdin (ConsoleConfig::stdin_input),
// read on the event loop, and the embedder's Machine::send_console_input. Both end in the UART's
// bounded receive FIFO; this file does not own the UART or the output side (console_sink.hpp).
// stdin is read only as fast as the guest drains the FIFO; send_console_input is all or nothing.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>

#include <spdlog/spdlog.h>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>

#include "vmm/machine/machine_impl.hpp"

namespace minivmm {

namespace {

// How soon a full UART receive FIFO is looked at again: soon enough that a paste flows at once,
// rare enough that a guest which never reads its console costs the loop almost nothing.
constexpr std::chrono::milliseconds kConsoleInputRetry{5};

}  // namespace

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
  auto retry = std::make_shared<boost::asio::steady_timer>(loop.io_context());
  auto reader = std::make_shared<std::function<void()>>();
  std::weak_ptr<std::function<void()>> weak = reader;
  *reader = [this, in, buf, retry, weak] {
    // Back-pressure: read no more than the UART FIFO can take. While the guest has not drained
    // it, the bytes stay in stdin's own buffer (a pasted block or a pipe loses nothing) and the
    // FIFO is looked at again shortly; the UART has no "space freed" event to wait on.
    const size_t space = std::min(buf->size(), serial->input_space());
    if (space == 0) {
      retry->expires_after(kConsoleInputRetry);
      retry->async_wait([weak](const boost::system::error_code& error) {
        if (error) return;
        if (auto next = weak.lock()) (*next)();
      });
      return;
    }
    in->async_read_some(boost::asio::buffer(buf->data(), space),
                        [this, in, buf, weak](auto error, size_t n) {
                          if (error) return;  // EOF or loop stopped: input simply ends
                          // Only this reader adds stdin bytes; an embedder's concurrent
                          // send_console_input could still take the room, and then
                          // enqueue_input counts the excess as input_dropped.
                          serial->enqueue_input(std::span<const uint8_t>(buf->data(), n));
                          if (auto next = weak.lock()) (*next)();
                        });
  };
  // The reader owns itself through the io_context's pending handler chain; keep one strong ref
  // in a posted task so the chain survives until the loop stops.
  boost::asio::post(loop.io_context(), [reader] { (*reader)(); });
  console_reader = reader;
}

Result<void> Machine::Impl::send_console_input(std::string_view bytes) {
  MachineState s = lifecycle.state();
  if (s != MachineState::running && s != MachineState::paused)
    return make_error(ErrorCode::invalid_state, "send_console_input: machine is {}", to_string(s));
  auto span =
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  if (!serial->try_enqueue_input(span))
    return errno_error_value(ENOBUFS,
                             "send_console_input: {} bytes do not fit in the UART receive buffer "
                             "({} bytes free)",
                             bytes.size(), serial->input_space());
  return {};
}

}  // namespace minivmm
