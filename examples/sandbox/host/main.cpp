// sandbox-run: runs a command in a minivmm microVM sandbox and exits with its status (README of
// examples/sandbox: PROTOCOL.md). Boots the sandbox with the agent as init, connects to the agent
// through the hybrid vsock socket, runs CMD (N times concurrently with --parallel N), relays
// stdin, stdout, stderr and SIGINT/SIGTERM/SIGHUP/SIGQUIT, then powers the sandbox off.
// Exit codes: the command's (128 + signal when killed), 125 for sandbox-run's own failures,
// 126/127 when the command cannot be executed / is not found.
#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "examples/sandbox/host/client.hpp"
#include "examples/sandbox/host/options.hpp"
#include "examples/sandbox/host/sandbox.hpp"

namespace {

using namespace sandbox;

std::string self_dir() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string path(buf, static_cast<size_t>(n));
  return path.substr(0, path.rfind('/'));
}

int own_error(const std::string& what) {
  std::fprintf(stderr, "sandbox-run: error: %s\n", what.c_str());
  return exit_own_error;
}

double ms_since(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

void print_timing(Clock::time_point launch, const BootTimes& boot, Clock::time_point connected,
                  const RelayTimes& relay) {
  auto at = [&](Clock::time_point t) {
    return t == Clock::time_point{}
               ? std::string("never")
               : std::to_string(static_cast<long>(ms_since(launch, t))) + " ms";
  };
  std::fprintf(stderr,
               "sandbox-run: timing: first output %s after launch (machine created %s, started "
               "%s, agent connected %s, command started %s)\n",
               at(relay.first_output).c_str(), at(boot.created).c_str(), at(boot.started).c_str(),
               at(connected).c_str(), at(relay.started).c_str());
}

std::vector<RunRequest> requests_for(const Options& o) {
  std::vector<RunRequest> out;
  for (uint32_t i = 0; i < o.parallel; ++i) {
    auto env = o.env;
    if (o.parallel > 1) env.push_back("SANDBOX_INSTANCE=" + std::to_string(i));
    out.push_back({o.command, command_environment(env), o.workdir});
  }
  return out;
}

int run(const Options& o, Clock::time_point launch) {
  // Forwarded signals arrive through a signalfd; blocking them before the machine exists keeps
  // every minivmm thread (which inherits the mask) from taking them.
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&mask, s);
  ::pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  UniqueFd sfd(::signalfd(-1, &mask, SFD_CLOEXEC));
  if (!sfd) return own_error("signalfd failed");

  BootTimes boot;
  auto sb = Sandbox::boot(o, boot);
  if (!sb) return own_error(sb.error());
  auto& s = **sb;
  // A signal while the sandbox boots ends the wait for the agent (as 128 + the signal).
  int boot_signal = 0;
  auto alive = [&] {
    pollfd p{sfd.get(), POLLIN, 0};
    signalfd_siginfo si{};
    if (::poll(&p, 1, 0) == 1 && ::read(sfd.get(), &si, sizeof si) == sizeof si)
      boot_signal = static_cast<int>(si.ssi_signo);
    return boot_signal == 0 && s.alive();
  };
  auto deadline = Clock::now() + std::chrono::seconds(o.boot_timeout_s);
  std::vector<AgentConnection> conns;
  for (uint32_t i = 0; i < o.parallel; ++i) {
    auto c = connect_agent(s.vsock_path(), deadline, alive);
    if (!c && boot_signal != 0) {
      std::fprintf(stderr, "sandbox-run: interrupted by signal %d while the sandbox booted\n",
                   boot_signal);
      return 128 + boot_signal;
    }
    if (!c) {
      auto why = s.alive() ? std::string() : " [" + s.stop_reason() + "]";
      return own_error("agent: " + c.error() + why +
                       (o.console.empty() ? "; see the guest console with --console FILE" : ""));
    }
    conns.push_back(std::move(*c));
  }
  auto connected = Clock::now();
  RelayTimes relay;
  RelayIo io;
  io.stdin_fd = o.parallel == 1 ? 0 : -1;
  io.signal_fd = sfd.get();
  int code = run_commands(conns, requests_for(o), io, relay);
  conns.clear();
  s.shutdown();
  if (o.timing) print_timing(launch, boot, connected, relay);
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  auto launch = Clock::now();
  auto parsed = parse_options(argc, argv, std::getenv("MINIVMM_KERNEL"), self_dir());
  switch (parsed.kind) {
    case ParseOutcome::Kind::help:
      std::fputs(parsed.text.c_str(), stdout);
      return 0;
    case ParseOutcome::Kind::error:
      return own_error(parsed.text);
    case ParseOutcome::Kind::run:
      break;
  }
  return run(parsed.options, launch);
}
