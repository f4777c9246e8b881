// One agent connection (session.hpp): the blocking request phase (HELLO, then RUN or SHUTDOWN,
// each within a deadline so a silent peer cannot hold a thread forever), then a poll loop relaying
// the command's pipes. Buffers toward either side are bounded: the socket is not read while the
// command's stdin buffer is full, the pipes are not read while the socket's queue is full.
#include "examples/sandbox/agent/session.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <optional>

#include "examples/sandbox/agent/spawn.hpp"
#include "examples/sandbox/protocol/frame.hpp"
#include "examples/sandbox/protocol/io.hpp"
#include "examples/sandbox/protocol/messages.hpp"

namespace sandbox {
namespace {

constexpr size_t max_buffered = 256 * 1024;
constexpr int request_timeout_ms = 10'000;
constexpr int drain_after_exit_ms = 200;  // output of background children after the command exits

class Session {
 public:
  Session(int fd, ChildRegistry& registry) : m_sock(fd), m_registry(registry) {}
  void run(const std::function<void()>& request_shutdown);

 private:
  std::optional<Frame> read_frame(int timeout_ms);
  void send_error(ErrorKind kind, int err, std::string message) {
    write_all(m_sock.get(),
              encode_frame(FrameType::error, encode_error({kind, err, std::move(message)})));
  }
  void relay(SpawnedCommand& c, int status_fd);
  // One poll round of the relay; false when the command has ended and its output is relayed.
  bool relay_step(SpawnedCommand& c, int status_fd);
  void write_stdin(SpawnedCommand& c);
  void read_output(UniqueFd& fd, FrameType type);
  void on_host_bytes(SpawnedCommand& c);
  void on_host_frame(const Frame& f, SpawnedCommand& c);
  void kill_command(pid_t pid, int sig) {
    if (m_exited) return;
    ::kill(-pid, sig);
    ::kill(pid, sig);
  }

  UniqueFd m_sock;
  ChildRegistry& m_registry;
  FrameDecoder m_decoder;
  std::string m_to_host;   // queued frames
  std::string m_to_stdin;  // queued stdin bytes
  bool m_stdin_eof = false;
  bool m_host_open = true;  // false: host closed or broke the protocol; nothing more is read
  bool m_exited = false;
  int m_status = 0;
};

std::optional<Frame> Session::read_frame(int timeout_ms) {
  char buf[4096];
  for (;;) {
    if (auto f = m_decoder.next()) return f;
    if (!m_decoder.error().empty()) {
      send_error(ErrorKind::protocol, 0, m_decoder.error());
      return std::nullopt;
    }
    pollfd p{m_sock.get(), POLLIN, 0};
    int r = ::poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return std::nullopt;
    ssize_t n = ::recv(m_sock.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    m_decoder.feed({buf, static_cast<size_t>(n)});
  }
}

void Session::run(const std::function<void()>& request_shutdown) {
  auto hello = read_frame(request_timeout_ms);
  if (!hello) return;
  if (hello->type != FrameType::hello)
    return send_error(ErrorKind::protocol, 0, "expected HELLO first");
  auto version = parse_hello(hello->payload);
  if (!version) return send_error(ErrorKind::protocol, 0, version.error());
  if (*version != protocol_version)
    return send_error(ErrorKind::protocol, 0,
                      "protocol version " + std::to_string(*version) +
                          " not supported (agent speaks " + std::to_string(protocol_version) + ")");
  if (!write_all(m_sock.get(), encode_frame(FrameType::hello, encode_hello(protocol_version))))
    return;
  auto req = read_frame(request_timeout_ms);
  if (!req) return;
  if (req->type == FrameType::shutdown) return request_shutdown();
  if (req->type != FrameType::run)
    return send_error(ErrorKind::protocol, 0,
                      std::string("expected RUN or SHUTDOWN, got ") + to_string(req->type));
  auto run = parse_run(req->payload);
  if (!run) return send_error(ErrorKind::request, 0, run.error());
  int status_pipe[2];
  if (::pipe2(status_pipe, O_CLOEXEC) != 0) return send_error(ErrorKind::internal, errno, "pipe2");
  UniqueFd status_read(status_pipe[0]), status_write(status_pipe[1]);
  auto cmd = spawn_command(*run, m_registry, status_write.get());
  if (!cmd) return send_error(cmd.error().kind, cmd.error().err, cmd.error().message);
  m_to_host = encode_frame(FrameType::started, encode_u32(static_cast<uint32_t>(cmd->pid)));
  relay(*cmd, status_read.get());
}

void Session::on_host_frame(const Frame& f, SpawnedCommand& c) {
  switch (f.type) {
    case FrameType::stdin_data:
      if (c.stdin_fd && !m_stdin_eof) m_to_stdin += f.payload;
      return;
    case FrameType::stdin_eof:
      m_stdin_eof = true;
      return;
    case FrameType::signal:
      if (auto sig = parse_signal(f.payload)) {
        kill_command(c.pid, *sig);
        return;
      }
      break;
    default:
      break;
  }
  // Anything else breaks the protocol: answer once, stop reading, end the command.
  m_to_host += encode_frame(
      FrameType::error,
      encode_error({ErrorKind::protocol, 0,
                    std::string("unexpected ") + to_string(f.type) + " frame during RUN"}));
  m_host_open = false;
  kill_command(c.pid, SIGKILL);
}

void Session::on_host_bytes(SpawnedCommand& c) {
  char buf[32 * 1024];
  ssize_t n = ::recv(m_sock.get(), buf, sizeof buf, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {  // the host went away: nobody will read the output, end the command
    m_host_open = false;
    m_to_host.clear();
    kill_command(c.pid, SIGKILL);
    return;
  }
  m_decoder.feed({buf, static_cast<size_t>(n)});
  while (m_host_open) {
    auto f = m_decoder.next();
    if (!f) break;
    on_host_frame(*f, c);
  }
  if (!m_decoder.error().empty() && m_host_open) {
    m_to_host +=
        encode_frame(FrameType::error, encode_error({ErrorKind::protocol, 0, m_decoder.error()}));
    m_host_open = false;
    kill_command(c.pid, SIGKILL);
  }
}

void Session::write_stdin(SpawnedCommand& c) {
  ssize_t n = ::write(c.stdin_fd.get(), m_to_stdin.data(), m_to_stdin.size());
  if (n > 0) {
    m_to_stdin.erase(0, static_cast<size_t>(n));
  } else if (n < 0 && errno != EAGAIN && errno != EINTR) {  // EPIPE: the command closed stdin
    m_to_stdin.clear();
    c.stdin_fd.reset();
  }
}

void Session::read_output(UniqueFd& fd, FrameType type) {
  char buf[max_data_chunk];
  ssize_t n = ::read(fd.get(), buf, sizeof buf);
  if (n > 0)
    m_to_host += encode_frame(type, {buf, static_cast<size_t>(n)});
  else if (n == 0 || (errno != EAGAIN && errno != EINTR))
    fd.reset();
}

bool Session::relay_step(SpawnedCommand& c, int status_fd) {
  if (m_stdin_eof && m_to_stdin.empty()) c.stdin_fd.reset();
  if (m_exited && !c.stdout_fd && !c.stderr_fd) return false;
  bool room = m_to_host.size() < max_buffered;
  pollfd p[5] = {{m_host_open ? m_sock.get() : -1,
                  static_cast<short>((m_to_stdin.size() < max_buffered ? POLLIN : 0) |
                                     (m_to_host.empty() ? 0 : POLLOUT)),
                  0},
                 {room ? c.stdout_fd.get() : -1, POLLIN, 0},
                 {room ? c.stderr_fd.get() : -1, POLLIN, 0},
                 {m_to_stdin.empty() ? -1 : c.stdin_fd.get(), POLLOUT, 0},
                 {m_exited ? -1 : status_fd, POLLIN, 0}};
  int r = ::poll(p, 5, m_exited ? drain_after_exit_ms : -1);
  if (r < 0) return true;        // EINTR
  if (r == 0) return !m_exited;  // background children still hold the pipes: stop waiting
  if (p[4].revents & POLLIN)
    m_exited = ::read(status_fd, &m_status, sizeof m_status) == sizeof m_status;
  if (p[0].revents & POLLOUT) {
    ssize_t n = ::send(m_sock.get(), m_to_host.data(), m_to_host.size(), MSG_NOSIGNAL);
    if (n > 0)
      m_to_host.erase(0, static_cast<size_t>(n));
    else if (n < 0 && errno != EAGAIN && errno != EINTR)
      on_host_bytes(c);  // sees the EOF/error
  }
  if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) on_host_bytes(c);
  if (p[3].revents & (POLLOUT | POLLERR | POLLHUP)) write_stdin(c);
  if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) read_output(c.stdout_fd, FrameType::stdout_data);
  if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) read_output(c.stderr_fd, FrameType::stderr_data);
  return true;
}

void Session::relay(SpawnedCommand& c, int status_fd) {
  set_nonblocking(m_sock.get());
  set_nonblocking(c.stdin_fd.get());
  // STDIN and SIGNAL frames may have arrived in the same read as RUN: handle them before
  // waiting for the socket, which may stay quiet from now on.
  while (m_host_open) {
    auto f = m_decoder.next();
    if (!f) break;
    on_host_frame(*f, c);
  }
  while (relay_step(c, status_fd)) {
  }
  if (!m_exited) m_registry.forget(c.pid);
  if (!m_host_open) return;
  ExitInfo e;
  if (WIFSIGNALED(m_status)) {
    e.kind = ExitInfo::Kind::signaled;
    e.value = static_cast<uint32_t>(WTERMSIG(m_status));
  } else {
    e.value = static_cast<uint32_t>(WEXITSTATUS(m_status));
  }
  m_to_host += encode_frame(FrameType::exit, encode_exit(e));
  write_all(m_sock.get(), m_to_host);
}

}  // namespace

void serve_connection(int fd, ChildRegistry& registry,
                      const std::function<void()>& request_shutdown) {
  Session s(fd, registry);
  s.run(request_shutdown);
}

}  // namespace sandbox
