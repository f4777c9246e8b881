// Unit tests of ChildProcess and wait_for_path: spawn and reap, exec and setup failures reported
// with errno, output redirection, stdin from /dev/null, descriptor hygiene, reset signal
// dispositions, terminate() (SIGTERM, escalation to SIGKILL, the whole group, no zombie), the
// destructor, the parent-death signal (tied to the spawning thread), the read-only private mount
// namespace (root only), and wait_for_path's success, timeout and early child death.
#include "vmm/sys/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include <doctest/doctest.h>

#include "tests/support/temp_dir.hpp"

namespace minivmm {
namespace {

TEST_SUITE_BEGIN("sys/child_process");

using namespace std::chrono_literals;

ChildProcess spawn_ok(ChildOptions o) {
  auto c = ChildProcess::spawn(o);
  REQUIRE_MESSAGE(c.has_value(), (c ? std::string() : c.error().message()));
  return std::move(*c);
}

ChildProcess spawn_sh(const std::string& script, int output_fd = -1) {
  ChildOptions o;
  o.argv = {"/bin/sh", "-c", script};
  o.output_fd = output_fd;
  return spawn_ok(o);
}

/// Everything readable from `fd` until EOF.
std::string drain(int fd) {
  std::string s;
  char buf[256];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) s.append(buf, static_cast<size_t>(n));
  return s;
}

/// Runs `script` and returns its stdout+stderr.
std::string output_of(const std::string& script) {
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  UniqueFd rd(p[0]), wr(p[1]);
  ChildProcess c = spawn_sh(script, wr.get());
  wr.reset();
  std::string out = drain(rd.get());
  CHECK(c.wait_for_exit(5s));
  return out;
}

bool reaped(pid_t pid) {
  int st;
  return ::waitpid(pid, &st, WNOHANG) < 0 && errno == ECHILD;
}

TEST_CASE("a child that exits is reaped with its status") {
  ChildProcess c = spawn_sh("exit 3");
  CHECK(c.pid() > 0);
  REQUIRE(c.wait_for_exit(5s));
  CHECK_FALSE(c.is_running());
  REQUIRE(c.exit_status().has_value());
  CHECK(describe_wait_status(*c.exit_status()) == "exited with status 3");
  CHECK(reaped(c.pid()));
}

TEST_CASE("exec failures come back as the child's errno") {
  ChildOptions o;
  o.argv = {"/nonexistent/virtiofsd", "--help"};
  auto c = ChildProcess::spawn(o);
  REQUIRE_FALSE(c.has_value());
  CHECK(c.error().message() ==
        "spawn /nonexistent/virtiofsd: exec /nonexistent/virtiofsd: No such file or directory");
}

TEST_CASE("an empty argv is refused") {
  auto c = ChildProcess::spawn({});
  REQUIRE_FALSE(c.has_value());
  CHECK(c.error().code() == make_error_code(ErrorCode::invalid_config));
}

TEST_CASE("stdout and stderr go to the given descriptor, stdin is /dev/null") {
  CHECK(output_of("echo out; echo err >&2") == "out\nerr\n");
  CHECK(output_of("readlink /proc/self/fd/0") == "/dev/null\n");
}

TEST_CASE("without an output descriptor stdout is /dev/null") {
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  UniqueFd rd(p[0]), wr(p[1]);
  // The pipe is only reachable through /proc; the child writes to its own stdout.
  ChildProcess c = spawn_sh("x=$(readlink /proc/$$/fd/1); echo $x > /proc/" +
                            std::to_string(::getpid()) + "/fd/" + std::to_string(wr.get()));
  REQUIRE(c.wait_for_exit(5s));
  wr.reset();
  CHECK(drain(rd.get()) == "/dev/null\n");
}

TEST_CASE("descriptors without close-on-exec do not leak into the child") {
  UniqueFd leaky(::open("/dev/null", O_RDONLY));  // deliberately no O_CLOEXEC
  REQUIRE(leaky);
  std::string n = std::to_string(leaky.get());
  CHECK(output_of("if [ -e /proc/self/fd/" + n + " ]; then echo open; else echo closed; fi") ==
        "closed\n");
}

TEST_CASE("terminate stops a running child with SIGTERM and leaves no zombie") {
  ChildProcess c = spawn_sh("exec sleep 30");
  CHECK(c.is_running());
  CHECK(c.pidfd() >= 0);
  auto start = std::chrono::steady_clock::now();
  int st = c.terminate(5s);
  CHECK(std::chrono::steady_clock::now() - start < 2s);
  CHECK(WIFSIGNALED(st));
  CHECK(WTERMSIG(st) == SIGTERM);
  CHECK(reaped(c.pid()));
  CHECK(c.terminate(1s) == st);  // idempotent
}

TEST_CASE("terminate escalates to SIGKILL after the timeout") {
  ChildProcess c = spawn_sh("trap '' TERM; sleep 30");
  std::this_thread::sleep_for(100ms);  // let the shell install the trap
  auto start = std::chrono::steady_clock::now();
  int st = c.terminate(200ms);
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(took >= 190ms);
  CHECK(took < 3s);
  CHECK(WIFSIGNALED(st));
  CHECK(WTERMSIG(st) == SIGKILL);
}

TEST_CASE("terminate takes the child's whole process group down") {
  minivmm::test::TempDir dir;
  std::string pidfile = (dir.path() / "bg.pid").string();
  ChildProcess c = spawn_sh("trap '' TERM; sleep 30 & echo $! > " + pidfile + "; wait");
  REQUIRE(wait_for_path(pidfile, 5s).has_value());
  std::this_thread::sleep_for(50ms);
  pid_t bg = 0;
  std::ifstream(pidfile) >> bg;
  REQUIRE(bg > 0);
  c.terminate(100ms);
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    gone = ::kill(bg, 0) != 0;
    std::this_thread::sleep_for(10ms);
  }
  CHECK(gone);
}

TEST_CASE("the destructor terminates and reaps") {
  pid_t pid;
  {
    ChildProcess c = spawn_sh("exec sleep 30");
    pid = c.pid();
  }
  CHECK(reaped(pid));
  CHECK(::kill(pid, 0) != 0);
}

TEST_CASE("a moved-from process owns nothing") {
  ChildProcess a = spawn_sh("exec sleep 30");
  pid_t pid = a.pid();
  ChildProcess b = std::move(a);
  CHECK(a.pid() == -1);
  CHECK_FALSE(a.is_running());
  CHECK(b.pid() == pid);
  CHECK(b.is_running());
}

TEST_CASE("an ignored SIGTERM in the parent is not inherited") {
  struct sigaction ign {
  }, old{};
  ign.sa_handler = SIG_IGN;
  ::sigaction(SIGTERM, &ign, &old);
  std::optional<ChildProcess> c;
  c.emplace(spawn_sh("exec sleep 30"));
  ::sigaction(SIGTERM, &old, nullptr);
  int st = c->terminate(3s);
  CHECK(WIFSIGNALED(st));
  CHECK(WTERMSIG(st) == SIGTERM);
}

TEST_CASE("the parent-death signal fires when the spawning thread exits") {
  std::optional<ChildProcess> c;
  std::thread t([&] {
    ChildOptions o;
    o.argv = {"/bin/sleep", "30"};
    o.parent_death_signal = SIGKILL;
    c.emplace(spawn_ok(o));
  });
  t.join();
  REQUIRE(c.has_value());
  REQUIRE(c->wait_for_exit(5s));
  CHECK(WTERMSIG(*c->exit_status()) == SIGKILL);
}

TEST_CASE("read-only paths are read-only for the child only") {
  if (::geteuid() != 0) return;  // needs CAP_SYS_ADMIN for the private mount namespace
  minivmm::test::TempDir dir;
  std::string d = dir.path().string();
  ChildOptions o;
  o.argv = {"/bin/sh", "-c", "touch " + d + "/x"};
  o.read_only_paths = {d};
  ChildProcess c = spawn_ok(o);
  REQUIRE(c.wait_for_exit(5s));
  CHECK(WEXITSTATUS(*c.exit_status()) != 0);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "x"));
  std::ofstream(dir.path() / "y") << "still writable here";
  CHECK(std::filesystem::exists(dir.path() / "y"));
}

TEST_CASE("a read-only path that does not exist fails the spawn with its name") {
  if (::geteuid() != 0) return;
  ChildOptions o;
  o.argv = {"/bin/true"};
  o.read_only_paths = {"/nonexistent/share"};
  auto c = ChildProcess::spawn(o);
  REQUIRE_FALSE(c.has_value());
  CHECK(c.error().message().find("bind-mount /nonexistent/share") != std::string::npos);
}

TEST_CASE("wait_for_path returns once the child creates the path") {
  minivmm::test::TempDir dir;
  std::string p = (dir.path() / "ready").string();
  ChildProcess c = spawn_sh("sleep 0.1; touch " + p + "; exec sleep 30");
  CHECK(wait_for_path(p, 5s, &c).has_value());
}

TEST_CASE("wait_for_path times out while the child lives") {
  minivmm::test::TempDir dir;
  ChildProcess c = spawn_sh("exec sleep 30");
  auto start = std::chrono::steady_clock::now();
  auto r = wait_for_path((dir.path() / "never").string(), 200ms, &c);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == make_error_code(ErrorCode::timeout));
  CHECK(std::chrono::steady_clock::now() - start < 2s);
  CHECK(c.is_running());
}

TEST_CASE("wait_for_path fails early with the status of a child that died") {
  minivmm::test::TempDir dir;
  ChildProcess c = spawn_sh("exit 4");
  auto start = std::chrono::steady_clock::now();
  auto r = wait_for_path((dir.path() / "never").string(), 10s, &c);
  REQUIRE_FALSE(r.has_value());
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  CHECK(r.error().message().find("exited with status 4 before creating") != std::string::npos);
}

TEST_CASE("wait statuses are described") {
  CHECK(describe_wait_status(0) == "exited with status 0");
  CHECK(describe_wait_status(SIGKILL) == "killed by signal 9 (Killed)");
}

}  // namespace
}  // namespace minivmm
