// Attaching the virtio-fs devices of a machine being built. `fs` entries connect to a backend
// that already runs; `shares` first start a sandboxed virtiofsd each (socket in a private 0700
// runtime directory the machine owns) and connect to it. A lost backend is reported by the
// device; for a virtiofsd we started, the device's error callback also kills it, so it can no
// longer touch guest memory once the VMM has taken its queues over. A root share adds
// `rootfstype=virtiofs root=TAG rw` to the command line.
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>

#include "devices/fs/fs_device.hpp"
#include "devices/fs/virtiofsd_launcher.hpp"
#include "vmm/machine/virtio_attach.hpp"

namespace minivmm {
namespace {

Result<void> attach_fs(Machine::Impl& m, fs::FsDeviceOptions options, bool root,
                       const std::string& what, std::string& cmdline) {
  auto context = [&](const Error& e) { return tl::unexpected(with_context(e, what)); };
  const std::string tag = options.tag;
  // A lost backend is reported after whatever the caller's handler does (a launched virtiofsd
  // is killed first).
  Machine::Impl* mp = &m;
  options.on_error = [mp, tag, then = std::move(options.on_error)](const std::string& e) {
    if (then) then(e);
    mp->report_device_error("fs:" + tag, "vhost-user backend lost: " + e);
  };
  auto device = fs::FsDevice::create(std::move(options));
  if (!device) return context(device.error());
  MINIVMM_TRY(slot, next_virtio_slot(m, what));
  if (auto r = attach_transport(m, *device, slot, "virtio-fs-" + tag, "fs:" + tag); !r)
    return context(r.error());
  m.fs_devices.push_back(std::move(*device));
  m.fs_tags.push_back(tag);
  cmdline += " " + slot.kernel_parameter(virtio::MmioTransport::kWindowSize);
  if (root) cmdline += " rootfstype=virtiofs root=" + tag + " rw";
  return {};
}

Result<std::string> make_runtime_dir() {
  std::error_code ec;
  auto base = std::filesystem::temp_directory_path(ec);
  if (ec) base = "/tmp";
  std::string path = (base / "minivmm-fs-XXXXXX").string();
  if (::mkdtemp(path.data()) == nullptr) return errno_error("mkdtemp {}", path);
  return path;
}

}  // namespace

Machine::Impl::RuntimeDir::~RuntimeDir() {
  std::error_code ec;
  if (!path.empty()) std::filesystem::remove_all(path, ec);
}

Result<void> attach_fs_devices(Machine::Impl& m, std::string& cmdline) {
  for (size_t i = 0; i < m.config.fs.size(); ++i) {
    const FsConfig& f = m.config.fs[i];
    fs::FsDeviceOptions options;
    options.tag = f.tag;
    options.socket_path = f.socket_path;
    MINIVMM_TRY_VOID(attach_fs(m, std::move(options), f.root,
                               fmt::format("fs[{}] {}", i, f.socket_path), cmdline));
  }
  if (m.config.shares.empty()) return {};
  MINIVMM_TRY(dir, make_runtime_dir());
  m.fs_runtime_dir.path = std::move(dir);
  for (size_t i = 0; i < m.config.shares.size(); ++i) {
    const ShareConfig& s = m.config.shares[i];
    const std::string what = fmt::format("shares[{}] {}", i, s.dir);
    fs::VirtiofsdOptions vo;
    vo.binary = s.virtiofsd_path;
    vo.tag = s.tag;
    vo.shared_dir = s.dir;
    vo.read_only = s.read_only;
    vo.runtime_dir = m.fs_runtime_dir.path;
    // virtiofsd logs warnings and errors only (why it failed or exited): next to our own log.
    vo.log_fd = STDERR_FILENO;
    auto process = fs::VirtiofsdProcess::launch(vo);
    if (!process) return tl::unexpected(with_context(process.error(), what));
    m.virtiofsd.push_back(std::make_unique<fs::VirtiofsdProcess>(std::move(*process)));
    fs::FsDeviceOptions options;
    options.tag = s.tag;
    options.socket_path = m.virtiofsd.back()->socket_path();
    // Runs on the event loop; the process outlives the device (Impl member order).
    options.on_error = [p = m.virtiofsd.back().get()](const std::string&) { p->kill(); };
    MINIVMM_TRY_VOID(attach_fs(m, std::move(options), s.root, what, cmdline));
  }
  return {};
}

}  // namespace minivmm
