// minivmm-agent: the in-guest side of sandbox-run (PROTOCOL.md). As PID 1 of the sandbox's
// initramfs it mounts the early filesystems and the root named by `sandbox.root=` on the kernel
// cmdline, disables Ctrl-Alt-Del (so a graceful stop arrives as SIGINT), then listens on vsock
// port 1024 and serves every connection on its own thread; the main thread reaps children and
// powers the sandbox off on SIGINT/SIGTERM or a SHUTDOWN request. Started by another init (not
// PID 1) it skips the mounts and only serves. Static binary: no shared library in the guest.
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <thread>

#include "examples/sandbox/agent/child_registry.hpp"
#include "examples/sandbox/agent/guest_init.hpp"
#include "examples/sandbox/agent/session.hpp"
#include "examples/sandbox/protocol/frame.hpp"
#include "examples/sandbox/protocol/io.hpp"

namespace {

using namespace sandbox;

// Fatal setup failure: as PID 1, say why on the console and end the sandbox.
[[noreturn]] void fail(const std::string& why, bool pid1) {
  std::fprintf(stderr, "minivmm-agent: error: %s\n", why.c_str());
  if (pid1) power_off();
  std::exit(1);
}

std::string read_cmdline() {
  std::ifstream f("/proc/cmdline");
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

int listen_vsock() {
  int fd = ::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_vm addr{};
  addr.svm_family = AF_VSOCK;
  addr.svm_cid = VMADDR_CID_ANY;
  addr.svm_port = agent_port;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 64) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void accept_loop(int listener, ChildRegistry& registry, int shutdown_fd) {
  auto request_shutdown = [shutdown_fd] {
    char b = 1;
    [[maybe_unused]] auto n = ::write(shutdown_fd, &b, 1);
  };
  for (;;) {
    int conn = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      std::fprintf(stderr, "minivmm-agent: accept: %s\n", std::strerror(errno));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    std::thread([conn, &registry, request_shutdown] {
      serve_connection(conn, registry, request_shutdown);
    }).detach();
  }
}

}  // namespace

int main() {
  const bool pid1 = ::getpid() == 1;
  if (pid1) {
    if (auto e = mount_early(); !e.empty()) fail(e, pid1);
    auto root = parse_root_spec(read_cmdline());
    if (!root) fail(root.error(), pid1);
    if (*root) {
      if (auto e = enter_root(**root); !e.empty()) fail(e, pid1);
    }
    ::reboot(RB_DISABLE_CAD);  // Ctrl-Alt-Del (a graceful stop) now sends SIGINT to PID 1
  }
  // Signals are taken through a signalfd; blocked signals reach PID 1 even without handlers.
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : {SIGCHLD, SIGINT, SIGTERM, SIGHUP}) sigaddset(&mask, s);
  ::pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  int sfd = ::signalfd(-1, &mask, SFD_CLOEXEC);
  int shutdown_pipe[2];
  if (sfd < 0 || ::pipe2(shutdown_pipe, O_CLOEXEC) != 0)
    fail(std::string("signalfd/pipe: ") + std::strerror(errno), pid1);

  int listener = listen_vsock();
  if (listener < 0)
    fail("vsock listen on port " + std::to_string(agent_port) + ": " + std::strerror(errno), pid1);
  ChildRegistry registry;
  std::thread(accept_loop, listener, std::ref(registry), shutdown_pipe[1]).detach();
  std::fprintf(stderr, "minivmm-agent: ready (protocol %u, vsock port %u)\n", protocol_version,
               agent_port);

  for (;;) {
    pollfd p[2] = {{sfd, POLLIN, 0}, {shutdown_pipe[0], POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) continue;
    bool stop = p[1].revents & POLLIN;
    signalfd_siginfo si{};
    if ((p[0].revents & POLLIN) && ::read(sfd, &si, sizeof si) == sizeof si) {
      if (si.ssi_signo == SIGCHLD)
        registry.reap();
      else
        stop = true;
    }
    if (stop) {
      std::fprintf(stderr, "minivmm-agent: shutting down\n");
      if (pid1) power_off();
      return 0;
    }
  }
}
