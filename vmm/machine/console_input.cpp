// Host input to the guest's serial console: the process's stdin (ConsoleConfig::stdin_input),
// read on the event loop, and the embedder's Machine::send_console_input. Both end in the UART's
// bounded receive FIFO; this file does not own the UART or the output side (console_sink.hpp).
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include <spdlog/spdlog.h>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>

#include "vmm/machine/machine_impl.hpp"

namespace minivmm {

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
