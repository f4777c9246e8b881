// Connecting to the agent through the hybrid vsock socket, with retries while the guest boots
// (client.hpp). Until the agent listens, minivmm closes the Unix connection after CONNECT (the
// guest answered with a reset); each attempt is bounded by a short timeout so a wedged guest
// cannot stall sandbox-run past its deadline.
#include "examples/sandbox/host/client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace sandbox {
namespace {

constexpr auto attempt_timeout = std::chrono::milliseconds(3000);
constexpr auto retry_delay = std::chrono::milliseconds(20);

// Waits until `fd` is readable or `deadline`; false on timeout or error.
bool wait_readable(int fd, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r > 0) return true;
    if (r == 0 || errno != EINTR) return false;
  }
}

// One attempt: the Unix connect, `CONNECT 1024\n` and its `OK ` line (read byte by byte so no
// frame byte is consumed), then HELLO both ways.
tl::expected<AgentConnection, std::string> attempt(const std::string& uds_path) {
  AgentConnection c;
  c.fd.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!c.fd) return tl::unexpected(std::string("socket: ") + std::strerror(errno));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (uds_path.size() >= sizeof addr.sun_path)
    return tl::unexpected("vsock socket path too long: " + uds_path);
  std::memcpy(addr.sun_path, uds_path.c_str(), uds_path.size() + 1);
  if (::connect(c.fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return tl::unexpected("connect " + uds_path + ": " + std::strerror(errno));
  auto deadline = Clock::now() + attempt_timeout;
  if (!write_all(c.fd.get(), "CONNECT " + std::to_string(agent_port) + "\n"))
    return tl::unexpected(std::string("CONNECT: ") + std::strerror(errno));
  std::string line;
  while (line.size() < 64 && (line.empty() || line.back() != '\n')) {
    char ch;
    if (!wait_readable(c.fd.get(), deadline) || ::read(c.fd.get(), &ch, 1) != 1)
      return tl::unexpected(std::string("the agent's vsock port is not listening (yet)"));
    line.push_back(ch);
  }
  if (!line.starts_with("OK "))
    return tl::unexpected("hybrid vsock handshake answered '" + line.substr(0, 40) + "'");
  if (!write_all(c.fd.get(), encode_frame(FrameType::hello, encode_hello(protocol_version))))
    return tl::unexpected(std::string("HELLO: ") + std::strerror(errno));
  for (;;) {
    if (auto f = c.decoder.next()) {
      if (f->type == FrameType::error) {
        auto e = parse_error(f->payload);
        return tl::unexpected("agent refused: " + (e ? e->message : e.error()));
      }
      if (f->type != FrameType::hello)
        return tl::unexpected(std::string("agent answered ") + to_string(f->type) +
                              " instead of HELLO");
      auto v = parse_hello(f->payload);
      if (!v) return tl::unexpected("agent answered: " + v.error());
      if (*v != protocol_version)
        return tl::unexpected("agent speaks protocol " + std::to_string(*v) + ", we speak " +
                              std::to_string(protocol_version));
      return c;
    }
    if (!c.decoder.error().empty()) return tl::unexpected("agent: " + c.decoder.error());
    char buf[256];
    ssize_t n = wait_readable(c.fd.get(), deadline) ? ::read(c.fd.get(), buf, sizeof buf) : -1;
    if (n <= 0) return tl::unexpected(std::string("no HELLO from the agent"));
    c.decoder.feed({buf, static_cast<size_t>(n)});
  }
}

}  // namespace

tl::expected<AgentConnection, std::string> connect_agent(const std::string& uds_path,
                                                         Clock::time_point deadline,
                                                         const std::function<bool()>& alive) {
  std::string last = "never tried";
  while (Clock::now() < deadline) {
    if (!alive())
      return tl::unexpected("the sandbox stopped before its agent answered (" + last + ")");
    auto c = attempt(uds_path);
    if (c) return c;
    last = c.error();
    std::this_thread::sleep_for(retry_delay);
  }
  return tl::unexpected("timed out waiting for the agent (" + last + ")");
}

bool send_shutdown(const std::string& uds_path, Clock::time_point deadline,
                   const std::function<bool()>& alive) {
  auto c = connect_agent(uds_path, deadline, alive);
  return c && write_all(c->fd.get(), encode_frame(FrameType::shutdown, {}));
}

}  // namespace sandbox
