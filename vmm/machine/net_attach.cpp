// Attaching the virtio-net NICs of a machine being built: each NetConfig becomes a Tap (opened or
// created by name, or adopted from a duplicate of the embedder's fd), a NetDevice and a
// virtio-mmio transport in the next slot. The devices are kept in Impl::nets, in configuration
// order, for Machine::net_stats().
#include <fcntl.h>

#include "devices/net/net_device.hpp"
#include "devices/net/tap.hpp"
#include "vmm/machine/virtio_attach.hpp"

namespace minivmm {
namespace {

Result<net::Tap> open_tap(const NetConfig& n) {
  if (n.tap_fd < 0) return net::Tap::open(n.tap_name);
  // The embedder keeps its fd: the device owns a duplicate (close-on-exec).
  int fd = ::fcntl(n.tap_fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return errno_error("dup of tap fd {}", n.tap_fd);
  return net::Tap::adopt(fd);
}

}  // namespace

Result<void> attach_net_devices(Machine::Impl& m, std::string& cmdline) {
  for (size_t i = 0; i < m.config.nets.size(); ++i) {
    const NetConfig& n = m.config.nets[i];
    const std::string what = n.tap_fd >= 0 ? fmt::format("nets[{}] fd {}", i, n.tap_fd)
                                           : fmt::format("nets[{}] {}", i, n.tap_name);
    auto context = [&](const Error& e) { return tl::unexpected(with_context(e, what)); };
    auto tap = open_tap(n);
    if (!tap) return context(tap.error());
    net::NetDeviceOptions options;
    options.mac = n.mac;
    options.mtu = n.mtu;
    const std::string eth = fmt::format("eth{}", i);
    Machine::Impl* mp = &m;
    options.on_error = [mp, eth](const std::string& e) { mp->report_device_error(eth, e); };
    auto device = net::NetDevice::create(std::move(*tap), options);
    if (!device) return context(device.error());
    MINIVMM_TRY(slot, next_virtio_slot(m, what));
    if (auto r = attach_transport(m, *device, slot, fmt::format("virtio-net{}", i), eth); !r)
      return context(r.error());
    m.nets.push_back(std::move(*device));
    cmdline += " " + slot.kernel_parameter(virtio::MmioTransport::kWindowSize);
  }
  return {};
}

}  // namespace minivmm
