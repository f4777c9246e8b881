// Booting and ending one sandbox machine (sandbox.hpp).
#include "examples/sandbox/host/sandbox.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "examples/sandbox/host/initramfs.hpp"

namespace sandbox {
namespace {

constexpr auto shutdown_connect_budget = std::chrono::seconds(3);
constexpr auto shutdown_grace = std::chrono::seconds(5);

tl::unexpected<std::string> fail(std::string what) {
  return tl::unexpected(std::move(what));
}

// "" when `path` exists with the wanted kind, else the error naming it.
std::string check_path(const std::string& what, const std::string& path, bool dir) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return what + " " + path + ": " + std::strerror(errno);
  if (dir != S_ISDIR(st.st_mode))
    return what + " " + path + (dir ? ": not a directory" : ": is a directory");
  return {};
}

tl::expected<std::string, std::string> make_runtime_dir() {
  const char* base = std::getenv("XDG_RUNTIME_DIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/sandbox-run.XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr)
    return fail("runtime directory " + tmpl + ": " + std::strerror(errno));
  return tmpl;
}

tl::expected<void, std::string> write_initramfs(const std::string& agent, const std::string& out) {
  std::ifstream in(agent, std::ios::binary);
  if (!in) return fail("agent " + agent + ": cannot read");
  std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::ofstream f(out, std::ios::binary | std::ios::trunc);
  f << make_agent_initramfs(bytes);
  if (!f.flush()) return fail("writing " + out + " failed");
  return {};
}

minivmm::MachineConfig machine_config(const Options& o, const std::string& dir) {
  minivmm::MachineConfig m;
  m.vcpus = o.vcpus;
  m.memory_mib = o.memory_mib;
  m.kernel_path = o.kernel;
  m.initrd_path = dir + "/initramfs.cpio";
  std::string root;
  if (!o.rootfs_dir.empty()) {
    minivmm::ShareConfig s;
    s.tag = "rootfs";
    s.dir = o.rootfs_dir;
    s.read_only = o.read_only;
    s.virtiofsd_path = o.virtiofsd;
    m.shares.push_back(std::move(s));
    root = "virtiofs:rootfs";
  } else {
    minivmm::DiskConfig d;
    d.id = "root";
    d.path = o.rootfs;
    d.read_only = o.read_only;
    m.disks.push_back(std::move(d));
    root = "ext4:/dev/vda";
  }
  if (o.read_only) root += ":ro";
  // quiet: every console byte is a trapped port write, and boot time is what --timing shows.
  m.cmdline = "console=ttyS0 reboot=k panic=-1 quiet sandbox.root=" + root;
  m.vsock = minivmm::VsockConfig{3, dir + "/vsock.sock"};
  if (o.console.empty()) {
    m.console.output = minivmm::ConsoleConfig::Output::none;
  } else {
    m.console.output = minivmm::ConsoleConfig::Output::file;
    m.console.path = o.console;
  }
  return m;
}

}  // namespace

tl::expected<std::unique_ptr<Sandbox>, std::string> Sandbox::boot(const Options& o,
                                                                  BootTimes& times) {
  for (auto [what, path, dir] :
       {std::tuple{"kernel", o.kernel, false}, std::tuple{"agent", o.agent, false}}) {
    if (auto e = check_path(what, path, dir); !e.empty()) return fail(e);
  }
  if (!o.rootfs_dir.empty()) {
    if (auto e = check_path("--rootfs-dir", o.rootfs_dir, true); !e.empty()) return fail(e);
  } else if (auto e = check_path("--rootfs", o.rootfs, false); !e.empty()) {
    return fail(e);
  }
  std::unique_ptr<Sandbox> s(new Sandbox());
  auto dir = make_runtime_dir();
  if (!dir) return fail(dir.error());
  s->m_dir = *dir;
  s->m_vsock_path = *dir + "/vsock.sock";
  if (auto w = write_initramfs(o.agent, *dir + "/initramfs.cpio"); !w) return fail(w.error());
  // virtiofsd, started inside Machine::create, inherits our stderr, which must carry only the
  // command's stderr: point fd 2 at the console log (or /dev/null) while it is spawned.
  int saved_stderr = ::dup(STDERR_FILENO);
  int sink = o.console.empty()
                 ? ::open("/dev/null", O_WRONLY | O_CLOEXEC)
                 : ::open(o.console.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (sink >= 0) ::dup2(sink, STDERR_FILENO);
  auto machine = minivmm::Machine::create(machine_config(o, *dir));
  if (saved_stderr >= 0) {
    ::dup2(saved_stderr, STDERR_FILENO);
    ::close(saved_stderr);
  }
  if (sink >= 0) ::close(sink);
  if (!machine) return fail("creating the sandbox machine: " + machine.error().message());
  s->m_machine = std::move(*machine);
  times.created = Clock::now();
  if (auto r = s->m_machine->start(); !r)
    return fail("starting the sandbox machine: " + r.error().message());
  times.started = Clock::now();
  return s;
}

bool Sandbox::alive() const noexcept {
  auto st = m_machine->state();
  return st == minivmm::MachineState::running || st == minivmm::MachineState::paused;
}

std::string Sandbox::stop_reason() {
  if (alive()) return {};
  auto r = m_machine->wait();
  if (!r) return r.error().message();
  return std::string("machine stopped: ") + minivmm::to_string(r->reason) +
         (r->detail.empty() ? "" : " (" + r->detail + ")");
}

void Sandbox::shutdown() {
  if (!m_machine) return;
  auto is_alive = [this] { return alive(); };
  auto grace = std::chrono::duration_cast<std::chrono::milliseconds>(shutdown_grace);
  if (alive()) {
    // The agent's SHUTDOWN first; without an answering agent, Ctrl-Alt-Del (the agent takes it
    // as SIGINT). Both end in the guest's reboot after a sync.
    bool asked = send_shutdown(m_vsock_path, Clock::now() + shutdown_connect_budget, is_alive) ||
                 m_machine->request_graceful_stop(grace).has_value();
    if (asked && m_machine->wait_for(grace + std::chrono::seconds(1))) return;
  }
  m_machine->request_stop();
  (void)m_machine->wait();
}

Sandbox::~Sandbox() {
  if (m_machine) {
    shutdown();
    m_machine.reset();
  }
  if (!m_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(m_dir, ec);
  }
}

}  // namespace sandbox
