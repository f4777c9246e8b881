// Relaying running commands (client.hpp run_commands): one poll loop over every connection, our
// stdin and the signalfd. Frames to the agent are queued per connection and sent when writable
// (stdin is not read while the first command's queue is full), so neither side can deadlock the
// other; frames from the agent are decoded with the size limit and validated one by one.
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <optional>

#include "examples/sandbox/host/client.hpp"
#include "examples/sandbox/host/line_prefixer.hpp"
#include "examples/sandbox/host/options.hpp"

namespace sandbox {
namespace {

constexpr size_t max_queued = 256 * 1024;

struct Instance {
  AgentConnection* conn;
  const RelayIo* io;
  std::string to_agent;
  std::optional<int> code;  // set when the command ended (or the connection broke)
  std::optional<LinePrefixer> out_prefix, err_prefix;
};

void emit(int fd, const std::string& data) {
  if (!data.empty()) write_all(fd, data);  // a closed stdout/stderr only loses output
}

void emit_output(Instance& in, FrameType type, std::string_view data) {
  bool out = type == FrameType::stdout_data;
  auto& prefix = out ? in.out_prefix : in.err_prefix;
  emit(out ? in.io->stdout_fd : in.io->stderr_fd, prefix ? prefix->feed(data) : std::string(data));
}

void finish(Instance& in, int code) {
  if (in.code) return;
  in.code = code;
  if (in.out_prefix) emit(in.io->stdout_fd, in.out_prefix->flush());
  if (in.err_prefix) emit(in.io->stderr_fd, in.err_prefix->flush());
}

// Guest-controlled: every frame type and payload is checked; anything unexpected ends this
// command with exit_own_error.
void on_frame(Instance& in, const Frame& f, RelayTimes& times) {
  switch (f.type) {
    case FrameType::started:
      if (times.started == Clock::time_point{}) times.started = Clock::now();
      return;
    case FrameType::stdout_data:
    case FrameType::stderr_data:
      if (times.first_output == Clock::time_point{}) times.first_output = Clock::now();
      return emit_output(in, f.type, f.payload);
    case FrameType::exit:
      if (auto e = parse_exit(f.payload)) return finish(in, exit_code_of(*e));
      break;
    case FrameType::error:
      if (auto e = parse_error(f.payload)) {
        dprintf(in.io->stderr_fd, "sandbox-run: %s\n", e->message.c_str());
        return finish(in, exit_code_of(*e));
      }
      break;
    default:
      break;
  }
  dprintf(in.io->stderr_fd, "sandbox-run: agent protocol error: bad %s frame (%zu bytes)\n",
          to_string(f.type), f.payload.size());
  finish(in, exit_own_error);
}

// Handles the frames the decoder holds (the connection's earlier reads may have left some).
void decode_frames(Instance& in, RelayTimes& times) {
  while (!in.code) {
    auto f = in.conn->decoder.next();
    if (!f) break;
    on_frame(in, *f, times);
  }
  if (!in.code && !in.conn->decoder.error().empty()) {
    dprintf(in.io->stderr_fd, "sandbox-run: agent protocol error: %s\n",
            in.conn->decoder.error().c_str());
    finish(in, exit_own_error);
  }
}

void on_readable(Instance& in, RelayTimes& times) {
  char buf[64 * 1024];
  ssize_t n = ::recv(in.conn->fd.get(), buf, sizeof buf, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    dprintf(in.io->stderr_fd,
            "sandbox-run: the agent closed the connection without an exit status\n");
    return finish(in, exit_own_error);
  }
  in.conn->decoder.feed({buf, static_cast<size_t>(n)});
  decode_frames(in, times);
}

void on_writable(Instance& in) {
  ssize_t n = ::send(in.conn->fd.get(), in.to_agent.data(), in.to_agent.size(),
                     MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n > 0) in.to_agent.erase(0, static_cast<size_t>(n));
  // An error here shows up as EOF on the read side; stop queueing.
  else if (n < 0 && errno != EAGAIN && errno != EINTR)
    in.to_agent.clear();
}

// Our stdin -> the first command. Returns false at EOF or error.
bool forward_stdin_chunk(Instance& in) {
  char buf[max_data_chunk];
  ssize_t n = ::read(in.io->stdin_fd, buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
  if (n <= 0) {
    in.to_agent += encode_frame(FrameType::stdin_eof, {});
    return false;
  }
  in.to_agent += encode_frame(FrameType::stdin_data, {buf, static_cast<size_t>(n)});
  return true;
}

void forward_signal(std::vector<Instance>& ins, int signal_fd) {
  signalfd_siginfo si{};
  if (::read(signal_fd, &si, sizeof si) != sizeof si) return;
  for (auto& in : ins)
    if (!in.code) in.to_agent += encode_frame(FrameType::signal, encode_u32(si.ssi_signo));
}

}  // namespace

int run_commands(std::vector<AgentConnection>& conns, const std::vector<RunRequest>& requests,
                 const RelayIo& io, RelayTimes& times) {
  bool forward_stdin = io.stdin_fd >= 0;
  std::vector<Instance> ins(conns.size());
  for (size_t i = 0; i < conns.size(); ++i) {
    ins[i].conn = &conns[i];
    ins[i].io = &io;
    ins[i].to_agent = encode_frame(FrameType::run, encode_run(requests[i]));
    if (conns.size() > 1) {
      ins[i].out_prefix.emplace("[" + std::to_string(i) + "] ");
      ins[i].err_prefix.emplace("[" + std::to_string(i) + "] ");
    }
    if (!forward_stdin || conns.size() > 1)
      ins[i].to_agent += encode_frame(FrameType::stdin_eof, {});
  }
  for (auto& in : ins) decode_frames(in, times);
  bool stdin_open = forward_stdin && conns.size() == 1;
  std::vector<pollfd> p(ins.size() + 2);
  for (;;) {
    size_t running = 0;
    for (size_t i = 0; i < ins.size(); ++i) {
      auto& in = ins[i];
      running += in.code ? 0 : 1;
      short ev = static_cast<short>(POLLIN | (in.to_agent.empty() ? 0 : POLLOUT));
      p[i] = {in.code ? -1 : in.conn->fd.get(), ev, 0};
    }
    if (running == 0) break;
    if (stdin_open && ins[0].code) stdin_open = false;
    p[ins.size()] = {stdin_open && ins[0].to_agent.size() < max_queued ? io.stdin_fd : -1, POLLIN,
                     0};
    p[ins.size() + 1] = {io.signal_fd, POLLIN, 0};
    if (::poll(p.data(), p.size(), -1) < 0) {
      if (errno == EINTR) continue;
      std::perror("sandbox-run: poll");
      return exit_own_error;
    }
    if (p[ins.size() + 1].revents & POLLIN) forward_signal(ins, io.signal_fd);
    if (p[ins.size()].revents & (POLLIN | POLLHUP | POLLERR))
      stdin_open = forward_stdin_chunk(ins[0]);
    for (size_t i = 0; i < ins.size(); ++i) {
      if (p[i].revents & POLLOUT) on_writable(ins[i]);
      if (p[i].revents & (POLLIN | POLLHUP | POLLERR)) on_readable(ins[i], times);
    }
  }
  for (const auto& in : ins)
    if (*in.code != 0) return *in.code;
  return 0;
}

}  // namespace sandbox
