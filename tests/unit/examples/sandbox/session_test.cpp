// Tests of the agent's sessions (examples/sandbox/agent/session.cpp, spawn.cpp,
// child_registry.cpp) driven by sandbox-run's relay (host/relay.cpp) over socketpairs: real
// commands (/bin/sh, cat, sleep) run on the build host, no VM involved. Also the agent's answers
// to protocol violations, and the relay's to a hostile agent.
#include <fcntl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <thread>

#include <doctest/doctest.h>

#include "examples/sandbox/agent/child_registry.hpp"
#include "examples/sandbox/agent/session.hpp"
#include "examples/sandbox/host/client.hpp"
#include "examples/sandbox/host/options.hpp"

using namespace sandbox;

namespace {

// An agent without the VM: sessions on socketpairs, a thread reaping children as PID 1 would.
class FakeAgent {
 public:
  FakeAgent() {
    m_reaper = std::thread([this] {
      while (!m_stop) {
        m_registry.reap();
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    });
  }
  ~FakeAgent() {
    for (auto& t : m_sessions) t.join();
    m_stop = true;
    m_reaper.join();
  }
  // The host end of a new session (nothing exchanged yet).
  UniqueFd open_raw() {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    m_sessions.emplace_back(
        [this, fd = sv[1]] { serve_connection(fd, m_registry, [this] { ++shutdowns; }); });
    return UniqueFd(sv[0]);
  }
  // A session after the HELLO exchange, as connect_agent returns it.
  AgentConnection open() {
    AgentConnection c;
    c.fd = open_raw();
    REQUIRE(write_all(c.fd.get(), encode_frame(FrameType::hello, encode_hello(protocol_version))));
    auto f = read_frame(c);
    REQUIRE(f.type == FrameType::hello);
    return c;
  }
  static Frame read_frame(AgentConnection& c) {
    for (;;) {
      if (auto f = c.decoder.next()) return *f;
      char buf[4096];
      ssize_t n = ::read(c.fd.get(), buf, sizeof buf);
      REQUIRE(n > 0);
      c.decoder.feed({buf, static_cast<size_t>(n)});
    }
  }
  std::atomic<int> shutdowns{0};

 private:
  ChildRegistry m_registry;
  std::vector<std::thread> m_sessions;
  std::atomic<bool> m_stop{false};
  std::thread m_reaper;
};

struct Pipe {
  UniqueFd r, w;
  Pipe() {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    r.reset(fds[0]);
    w.reset(fds[1]);
  }
};

// Collects everything written to a pipe on a thread (output may exceed the pipe's buffer).
class Collector {
 public:
  Collector() {
    m_thread = std::thread([this] {
      char buf[4096];
      while (ssize_t n = ::read(m_pipe.r.get(), buf, sizeof buf)) {
        if (n < 0) break;
        m_data.append(buf, static_cast<size_t>(n));
      }
    });
  }
  ~Collector() {
    if (m_thread.joinable()) m_thread.join();
  }
  int fd() const { return m_pipe.w.get(); }
  std::string finish() {
    m_pipe.w.reset();
    m_thread.join();
    return m_data;
  }

 private:
  Pipe m_pipe;
  std::string m_data;
  std::thread m_thread;
};

struct Result {
  int code;
  std::string out, err;
};

// Runs `requests` (one connection each) through run_commands; `input` is the first command's
// stdin (nullptr: none); `signal` is delivered as a forwarded signal once the command started.
Result run(FakeAgent& agent, const std::vector<RunRequest>& requests, const char* input = nullptr,
           int signal = 0) {
  std::vector<AgentConnection> conns;
  for (size_t i = 0; i < requests.size(); ++i) conns.push_back(agent.open());
  Collector out, err;
  Pipe in, sig;
  RelayIo io;
  io.stdout_fd = out.fd();
  io.stderr_fd = err.fd();
  io.stdin_fd = -1;
  std::thread writer;
  if (input) {
    // From a thread: the input may exceed the pipe's buffer.
    writer = std::thread([&in, input] {
      write_all(in.w.get(), input);
      in.w.reset();
    });
    io.stdin_fd = in.r.get();
  }
  std::thread sender;
  if (signal) {
    io.signal_fd = sig.r.get();
    // Fake signalfd records; the delay lets the command start (a signal before RUN is dropped).
    sender = std::thread([&sig, signal] {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      signalfd_siginfo si{};
      si.ssi_signo = static_cast<uint32_t>(signal);
      REQUIRE(write_all(sig.w.get(), {reinterpret_cast<char*>(&si), sizeof si}));
    });
  }
  RelayTimes times;
  int code = run_commands(conns, requests, io, times);
  if (sender.joinable()) sender.join();
  if (writer.joinable()) writer.join();
  return {code, out.finish(), err.finish()};
}

RunRequest sh(const std::string& script, std::vector<std::string> env = {}) {
  return {{"/bin/sh", "-c", script}, command_environment(env), "/"};
}

}  // namespace

TEST_CASE("a command's stdout, stderr and exit code are relayed") {
  FakeAgent agent;
  auto r = run(agent, {sh("echo hi; echo oops >&2; exit 3")});
  CHECK(r.code == 3);
  CHECK(r.out == "hi\n");
  CHECK(r.err == "oops\n");
}

TEST_CASE("env and the working directory reach the command") {
  FakeAgent agent;
  RunRequest req = sh("echo \"$GREETING\"; pwd", {"GREETING=hello there"});
  req.cwd = "/tmp";
  auto r = run(agent, {req});
  CHECK(r.code == 0);
  CHECK(r.out == "hello there\n/tmp\n");
}

TEST_CASE("stdin is forwarded until EOF") {
  FakeAgent agent;
  std::string big(200000, 'x');
  auto r = run(agent, {{{"cat"}, command_environment({}), "/"}}, (big + "\nend\n").c_str());
  CHECK(r.code == 0);
  CHECK(r.out == big + "\nend\n");
}

TEST_CASE("STDIN frames that arrive in the same read as RUN are not left behind") {
  FakeAgent agent;
  auto c = agent.open();
  RunRequest cat{{"cat"}, command_environment({}), "/"};
  REQUIRE(write_all(c.fd.get(), encode_frame(FrameType::run, encode_run(cat)) +
                                    encode_frame(FrameType::stdin_data, "early\n") +
                                    encode_frame(FrameType::stdin_eof, {})));
  std::string out;
  for (;;) {
    auto f = FakeAgent::read_frame(c);
    if (f.type == FrameType::stdout_data) out += f.payload;
    if (f.type == FrameType::exit) break;
  }
  CHECK(out == "early\n");
}

TEST_CASE("a forwarded SIGTERM ends the command with 143") {
  FakeAgent agent;
  auto r = run(agent, {{{"sleep", "100"}, command_environment({}), "/"}}, nullptr, SIGTERM);
  CHECK(r.code == 143);
}

TEST_CASE("a command that is not found exits 127 with a message") {
  FakeAgent agent;
  auto r = run(agent, {{{"no-such-command-xyz"}, command_environment({}), "/"}});
  CHECK(r.code == 127);
  CHECK(r.err.find("no-such-command-xyz: command not found") != std::string::npos);
  auto abs = run(agent, {{{"/no/such/file"}, command_environment({}), "/"}});
  CHECK(abs.code == 127);
}

TEST_CASE("a file that is not executable exits 126") {
  FakeAgent agent;
  auto r = run(agent, {{{"/etc/hostname"}, command_environment({}), "/"}});
  CHECK(r.code == 126);
}

TEST_CASE("a missing working directory is a request error (125)") {
  FakeAgent agent;
  auto r = run(agent, {{{"true"}, command_environment({}), "/no/such/dir"}});
  CHECK(r.code == 125);
  CHECK(r.err.find("cwd /no/such/dir") != std::string::npos);
}

TEST_CASE("four concurrent commands are relayed with prefixed lines") {
  FakeAgent agent;
  std::vector<RunRequest> reqs;
  for (int i = 0; i < 4; ++i)
    reqs.push_back(sh("sleep 0.2; echo instance-$N; exit 0", {"N=" + std::to_string(i)}));
  auto r = run(agent, reqs);
  CHECK(r.code == 0);
  for (int i = 0; i < 4; ++i) {
    auto want = "[" + std::to_string(i) + "] instance-" + std::to_string(i) + "\n";
    CHECK(r.out.find(want) != std::string::npos);
  }
}

TEST_CASE("the first failing instance's status is sandbox-run's") {
  FakeAgent agent;
  auto r = run(agent, {sh("exit 0"), sh("exit 4"), sh("exit 5")});
  CHECK(r.code == 4);
}

TEST_CASE("the agent refuses another protocol version") {
  FakeAgent agent;
  AgentConnection c;
  c.fd = agent.open_raw();
  REQUIRE(write_all(c.fd.get(), encode_frame(FrameType::hello, encode_hello(99))));
  auto f = FakeAgent::read_frame(c);
  REQUIRE(f.type == FrameType::error);
  auto e = parse_error(f.payload);
  REQUIRE(e);
  CHECK(e->kind == ErrorKind::protocol);
  CHECK(e->message.find("version 99 not supported") != std::string::npos);
}

TEST_CASE("the agent refuses a first frame that is not HELLO, and oversized frames") {
  FakeAgent agent;
  {
    AgentConnection c;
    c.fd = agent.open_raw();
    REQUIRE(write_all(c.fd.get(), encode_frame(FrameType::run, encode_run(sh("true")))));
    CHECK(FakeAgent::read_frame(c).type == FrameType::error);
  }
  {
    AgentConnection c;
    c.fd = agent.open_raw();
    REQUIRE(write_all(c.fd.get(), std::string("\xff\xff\xff\x7f\x01", 5)));
    auto f = FakeAgent::read_frame(c);
    REQUIRE(f.type == FrameType::error);
    CHECK(parse_error(f.payload)->message.find("exceeds") != std::string::npos);
  }
}

TEST_CASE("a bad RUN request is answered with a request error") {
  FakeAgent agent;
  auto c = agent.open();
  REQUIRE(write_all(c.fd.get(), encode_frame(FrameType::run, "{\"argv\": []}")));
  auto f = FakeAgent::read_frame(c);
  REQUIRE(f.type == FrameType::error);
  CHECK(parse_error(f.payload)->kind == ErrorKind::request);
}

TEST_CASE("SHUTDOWN reaches the agent's shutdown hook") {
  FakeAgent agent;
  {
    auto c = agent.open();
    REQUIRE(write_all(c.fd.get(), encode_frame(FrameType::shutdown, {})));
    char b;
    CHECK(::read(c.fd.get(), &b, 1) == 0);  // the session ends
  }
  CHECK(agent.shutdowns == 1);
}

TEST_CASE("a host that disconnects mid-run gets its command killed") {
  FakeAgent agent;
  auto c = agent.open();
  REQUIRE(write_all(
      c.fd.get(),
      encode_frame(FrameType::run, encode_run({{"sleep", "100"}, command_environment({}), "/"}))));
  CHECK(FakeAgent::read_frame(c).type == FrameType::started);
  c.fd.reset();
  // ~FakeAgent joins the session: it only ends once sleep was killed and reaped.
}

namespace {

// The relay against a scripted hostile agent: `frames` are sent after RUN arrives.
Result run_against(const std::string& frames, bool close_after = true) {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  std::vector<AgentConnection> conns(1);
  conns[0].fd.reset(sv[0]);
  UniqueFd agent_end(sv[1]);
  std::thread agent([&] {
    char buf[4096];
    REQUIRE(::read(agent_end.get(), buf, sizeof buf) > 0);
    write_all(agent_end.get(), frames);
    if (close_after) agent_end.reset();
  });
  Collector out, err;
  RelayIo io{-1, out.fd(), err.fd(), -1};
  RelayTimes times;
  int code = run_commands(conns, {sh("true")}, io, times);
  agent.join();
  return {code, out.finish(), err.finish()};
}

}  // namespace

TEST_CASE("the relay survives a hostile agent: every violation ends with 125") {
  auto ok = run_against(encode_frame(FrameType::stdout_data, "x") +
                        encode_frame(FrameType::exit, encode_exit({ExitInfo::Kind::exited, 7})));
  CHECK(ok.code == 7);
  CHECK(ok.out == "x");
  struct Case {
    std::string frames;
    const char* why;
  } cases[] = {
      {"", "without an exit status"},
      {encode_frame(FrameType::stdout_data, "partial"), "without an exit status"},
      {std::string("\0\0\0\0\x63", 5), "unknown frame type 99"},
      {std::string("\xff\xff\xff\xff\x11", 5), "exceeds the limit"},
      {encode_frame(FrameType::exit, "bad"), "bad EXIT frame"},
      {encode_frame(FrameType::exit, encode_exit({ExitInfo::Kind::signaled, 99})), "bad EXIT"},
      {encode_frame(FrameType::error, "\x07"), "bad ERROR frame"},
      {encode_frame(FrameType::run, "{}"), "bad RUN frame"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.why);
    auto r = run_against(c.frames);
    CHECK(r.code == exit_own_error);
    CHECK(r.err.find(c.why) != std::string::npos);
  }
}
