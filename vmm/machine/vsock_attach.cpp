// Attaching the virtio-vsock device of a machine being built: the device binds its hybrid
// Unix socket when it is created, so a runtime can connect as soon as Machine::create returns
// (connections wait in the listen backlog until the guest driver is up).
#include "devices/vsock/vsock_device.hpp"
#include "vmm/machine/virtio_attach.hpp"

namespace minivmm {

Result<void> attach_vsock_device(Machine::Impl& m, std::string& cmdline) {
  if (!m.config.vsock) return {};
  const VsockConfig& v = *m.config.vsock;
  const std::string what = fmt::format("vsock {}", v.uds_path);
  auto context = [&](const Error& e) { return tl::unexpected(with_context(e, what)); };
  vsock::VsockOptions options;
  options.guest_cid = v.guest_cid;
  options.uds_path = v.uds_path;
  auto device = vsock::VsockDevice::create(options);
  if (!device) return context(device.error());
  MINIVMM_TRY(slot, next_virtio_slot(m, what));
  if (auto r = attach_transport(m, *device, slot, "virtio-vsock", "vsock"); !r)
    return context(r.error());
  m.vsock = std::move(*device);
  cmdline += " " + slot.kernel_parameter(virtio::MmioTransport::kWindowSize);
  return {};
}

}  // namespace minivmm
