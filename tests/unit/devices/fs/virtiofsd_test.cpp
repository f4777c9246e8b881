// Tests of the virtiofsd launcher: the command line, the up-front checks (each error names the
// path), a daemon that dies at startup; and, with the real /usr/lib/qemu/virtiofsd as root
// (skipped otherwise), the whole path: launch, FsDevice::create negotiating with it, activation on
// MockSplitQueue rings, FUSE_INIT / LOOKUP / MKDIR answered by virtiofsd straight from guest
// memory, a reset and re-activation, a read-only share refusing writes with EROFS, and SIGKILL of
// the daemon turning every later request into ENOTCONN from the VMM.
#include "devices/fs/virtiofsd_launcher.hpp"

#include <linux/fuse.h>
#include <linux/virtio_config.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <doctest/doctest.h>

#include "devices/fs/fs_device.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/unit/devices/fs/fs_test_support.hpp"

namespace minivmm::fs {
namespace {

TEST_SUITE_BEGIN("fs/virtiofsd");

using namespace std::chrono_literals;
using test::Buf;
namespace fsys = std::filesystem;

struct Dirs {
  minivmm::test::TempDir root;
  fsys::path share = root.path() / "share";
  fsys::path run = root.path() / "run";
  Dirs() {
    fsys::create_directory(share);
    fsys::create_directory(run);
    fsys::permissions(run, fsys::perms::owner_all);
    std::ofstream(share / "hello") << "hello, guest\n";
  }
  VirtiofsdOptions options(bool read_only = false) const {
    VirtiofsdOptions o;
    o.tag = "share";
    o.shared_dir = share.string();
    o.runtime_dir = run.string();
    o.read_only = read_only;
    o.log_fd = std::getenv("MINIVMM_TEST_VIRTIOFSD_LOG") ? 2 : -1;
    return o;
  }
};

TEST_CASE("the command line uses the socket, source, namespace sandbox, cache and pool size") {
  VirtiofsdOptions o;
  o.tag = "my tag/1";
  o.shared_dir = "/srv/a,b";
  o.runtime_dir = "/run/vm";
  o.cache = VirtiofsdCache::none;
  o.thread_pool_size = 4;
  CHECK(virtiofsd_socket_path(o) == "/run/vm/virtiofsd-my_tag_1.sock");
  CHECK(virtiofsd_command(o) ==
        std::vector<std::string>{kDefaultVirtiofsd, "--socket-path=/run/vm/virtiofsd-my_tag_1.sock",
                                 "-o", "source=/srv/a\\,b", "-o", "sandbox=namespace", "-o",
                                 "cache=none", "-o", "log_level=warn", "--thread-pool-size=4"});
}

TEST_CASE("launch names a missing or non-executable binary") {
  Dirs d;
  VirtiofsdOptions o = d.options();
  o.binary = "/nonexistent/virtiofsd";
  auto p = VirtiofsdProcess::launch(o);
  REQUIRE_FALSE(p.has_value());
  CHECK(p.error().message() == "virtiofsd /nonexistent/virtiofsd is missing or not executable");
  o.binary = (d.share / "hello").string();  // exists, not executable
  CHECK_FALSE(VirtiofsdProcess::launch(o).has_value());
}

TEST_CASE("launch names a shared directory that is missing or not a directory") {
  Dirs d;
  VirtiofsdOptions o = d.options();
  o.binary = "/bin/true";
  o.shared_dir = (d.root.path() / "nope").string();
  auto p = VirtiofsdProcess::launch(o);
  REQUIRE_FALSE(p.has_value());
  CHECK(p.error().message().find("'" + o.shared_dir + "' is not an existing directory") !=
        std::string::npos);
  o.shared_dir = (d.share / "hello").string();
  CHECK_FALSE(VirtiofsdProcess::launch(o).has_value());
}

TEST_CASE("launch refuses a missing runtime directory, an existing socket and a bad tag") {
  Dirs d;
  VirtiofsdOptions o = d.options();
  o.binary = "/bin/true";
  o.runtime_dir = (d.root.path() / "nope").string();
  CHECK_FALSE(VirtiofsdProcess::launch(o).has_value());
  o = d.options();
  o.binary = "/bin/true";
  std::ofstream(virtiofsd_socket_path(o)) << "";
  auto p = VirtiofsdProcess::launch(o);
  REQUIRE_FALSE(p.has_value());
  CHECK(p.error().message().find("already exists") != std::string::npos);
  o.tag = "";
  CHECK_FALSE(VirtiofsdProcess::launch(o).has_value());
}

TEST_CASE("a daemon that exits at startup is reported with its status") {
  Dirs d;
  VirtiofsdOptions o = d.options();
  o.binary = "/bin/false";
  auto p = VirtiofsdProcess::launch(o);
  REQUIRE_FALSE(p.has_value());
  CHECK(p.error().message().find("exited with status 1 before creating") != std::string::npos);
}

bool have_virtiofsd() {
  if (::geteuid() != 0 || ::access(kDefaultVirtiofsd, X_OK) != 0) {
    MESSAGE("skipped: needs root and " << kDefaultVirtiofsd);
    return false;
  }
  return true;
}

constexpr uint64_t kAcked = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX) |
                            (1ull << VIRTIO_RING_F_INDIRECT_DESC);

/// A guest of the real virtiofsd: memory, rings for hiprio + 1 request queue, an event loop.
struct Guest {
  GuestMemory mem = test::make_memory();
  std::optional<test::QueueSet> qs;
  test::Arena arena{mem, 0x100000};
  boost::asio::io_context io;
  std::shared_ptr<virtio::VirtioInterrupt> irq =
      std::make_shared<virtio::VirtioInterrupt>(EventFd::create(EFD_NONBLOCK).value());
  uint64_t unique = 1;

  Result<void> activate(FsDevice& dev) {
    qs.emplace(mem, 2, 16, kAcked);  // fresh, zeroed rings
    return dev.activate(virtio::Activation{mem, qs->queues, qs->kicks, kAcked, irq, io});
  }
  /// Sends one request on the request queue and waits for its completion; returns the reply
  /// header and copies the reply body into `body`.
  fuse_out_header call(uint32_t opcode, uint64_t nodeid, const std::vector<uint8_t>& in,
                       std::vector<uint8_t>* body = nullptr, uint32_t out_len = 256) {
    auto req = test::fuse_request(opcode, unique++, nodeid, in);
    uint64_t in_gpa = arena.put(req);
    uint64_t out_gpa = arena.alloc(out_len, 0);
    auto& d = qs->drivers[1];
    uint16_t before = d.used_idx();
    d.publish(d.add_chain(
        {Buf{in_gpa, static_cast<uint32_t>(req.size()), false}, Buf{out_gpa, out_len, true}}));
    qs->kicks[1].signal();  // what KVM's ioeventfd does on the guest's QueueNotify write
    auto end = std::chrono::steady_clock::now() + 5s;
    while (d.used_idx() == before && std::chrono::steady_clock::now() < end) {
      io.restart();
      io.run_for(5ms);  // the takeover, if any, runs here
    }
    REQUIRE(d.used_idx() != before);
    fuse_out_header h = test::read_out_header(mem, out_gpa);
    CHECK(h.unique == unique - 1);
    if (body) {
      body->resize(out_len - 16);
      REQUIRE(mem.read(out_gpa + 16, *body));
    }
    return h;
  }
  fuse_out_header init() {
    fuse_init_in in{};
    in.major = FUSE_KERNEL_VERSION;
    in.minor = FUSE_KERNEL_MINOR_VERSION;
    in.max_readahead = 1 << 17;
    return call(FUSE_INIT, 0, test::bytes_of(in));
  }
  fuse_out_header mkdir(const std::string& name) {
    fuse_mkdir_in m{};
    m.mode = 0755;
    auto body = test::bytes_of(m);
    body.insert(body.end(), name.begin(), name.end());
    body.push_back(0);
    return call(FUSE_MKDIR, FUSE_ROOT_ID, body);
  }
};

FsDeviceOptions device_options(const VirtiofsdProcess& p) {
  FsDeviceOptions o;
  o.tag = "share";
  o.socket_path = p.socket_path();
  o.queue_size = 16;
  o.backend_timeout = 5s;
  return o;
}

TEST_CASE("the real virtiofsd negotiates, serves FUSE from guest memory and survives a reset") {
  if (!have_virtiofsd()) return;
  Dirs d;
  auto vfsd = VirtiofsdProcess::launch(d.options());
  REQUIRE_MESSAGE(vfsd.has_value(), (vfsd ? std::string() : vfsd.error().message()));
  Guest g;  // outlives the device: its event loop holds the device's handlers
  auto dev = FsDevice::create(device_options(*vfsd));
  REQUIRE_MESSAGE(dev.has_value(), (dev ? std::string() : dev.error().message()));
  CHECK((*dev)->features() == kAcked);
  REQUIRE(g.activate(**dev).has_value());
  CHECK_FALSE((*dev)->backend_error().has_value());

  std::vector<uint8_t> body;
  fuse_out_header h = g.call(
      FUSE_INIT, 0,
      [] {
        fuse_init_in in{};
        in.major = FUSE_KERNEL_VERSION;
        in.minor = FUSE_KERNEL_MINOR_VERSION;
        return test::bytes_of(in);
      }(),
      &body);
  REQUIRE(h.error == 0);
  fuse_init_out init{};
  std::memcpy(&init, body.data(), sizeof init);
  CHECK(init.major == 7);

  h = g.call(FUSE_LOOKUP, FUSE_ROOT_ID, {'h', 'e', 'l', 'l', 'o', 0}, &body);
  REQUIRE(h.error == 0);
  fuse_entry_out entry{};
  std::memcpy(&entry, body.data(), sizeof entry);
  CHECK(entry.attr.size == 13);
  CHECK(g.call(FUSE_LOOKUP, FUSE_ROOT_ID, {'n', 'o', 0}).error == -ENOENT);
  CHECK(g.mkdir("made").error == 0);
  CHECK(fsys::is_directory(d.share / "made"));

  (*dev)->reset();  // GET_VRING_BASE on both rings
  CHECK_FALSE((*dev)->backend_error().has_value());
  REQUIRE(g.activate(**dev).has_value());
  CHECK(g.init().error == 0);  // the guest driver starts over
  CHECK((*dev)->counters().backend_connected);
  (*dev)->reset();

  std::string socket = vfsd->socket_path();
  std::string pid_file = virtiofsd_pid_file(socket);
  CHECK(fsys::exists(pid_file));
  int st = vfsd->stop();
  CHECK(describe_wait_status(st) == "exited with status 0");  // a clean SIGTERM shutdown
  CHECK_FALSE(fsys::exists(socket));
  CHECK_FALSE(fsys::exists(pid_file));
}

TEST_CASE("a read-only share refuses writes with EROFS") {
  if (!have_virtiofsd()) return;
  Dirs d;
  auto vfsd = VirtiofsdProcess::launch(d.options(true));
  REQUIRE_MESSAGE(vfsd.has_value(), (vfsd ? std::string() : vfsd.error().message()));
  Guest g;
  auto dev = FsDevice::create(device_options(*vfsd));
  REQUIRE(dev.has_value());
  REQUIRE(g.activate(**dev).has_value());
  REQUIRE(g.init().error == 0);
  CHECK(g.call(FUSE_LOOKUP, FUSE_ROOT_ID, {'h', 'e', 'l', 'l', 'o', 0}).error == 0);
  CHECK(g.mkdir("made").error == -EROFS);
  CHECK_FALSE(fsys::exists(d.share / "made"));
  (*dev)->reset();
}

TEST_CASE("virtiofsd killed: the error is reported and requests get ENOTCONN from the VMM") {
  if (!have_virtiofsd()) return;
  Dirs d;
  auto vfsd = VirtiofsdProcess::launch(d.options());
  REQUIRE(vfsd.has_value());
  std::vector<std::string> errors;
  FsDeviceOptions o = device_options(*vfsd);
  o.on_error = [&](const std::string& e) { errors.push_back(e); };
  Guest g;
  auto dev = FsDevice::create(o);
  REQUIRE(dev.has_value());
  REQUIRE(g.activate(**dev).has_value());
  REQUIRE(g.init().error == 0);
  vfsd->kill();
  fuse_out_header h = g.call(FUSE_GETATTR, FUSE_ROOT_ID, std::vector<uint8_t>(16, 0));
  CHECK(h.error == -ENOTCONN);
  CHECK(h.len == 16);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].find("backend closed the connection") != std::string::npos);
  FsCounters c = (*dev)->counters();
  CHECK_FALSE(c.backend_connected);
  CHECK(c.queues_taken_over);
  CHECK(c.requests_failed_after_loss >= 1);
  (*dev)->reset();  // nothing to stop in the backend; returns at once
  REQUIRE(g.activate(**dev).has_value());
  CHECK(g.init().error == -ENOTCONN);
  (*dev)->reset();
}

}  // namespace
}  // namespace minivmm::fs
