// Implementation of virtio device attachment.
#include "vmm/machine/virtio_attach.hpp"

#include <linux/virtio_mmio.h>
#include <sys/eventfd.h>
#include <sys/stat.h>

#include <set>
#include <utility>

#include "devices/block/block_device.hpp"
#include "devices/block/disk_file.hpp"
#include "devices/virtio/mmio_transport.hpp"

namespace minivmm {
namespace {

// Guest rings must never be placed over device windows or the interrupt controllers.
std::vector<virtio::AddressRange> forbidden_windows() {
  return {{x86::kMmioGapStart, x86::kMmioGapEnd - x86::kMmioGapStart}};
}

}  // namespace

Result<void> attach_transport(Machine::Impl& m, std::shared_ptr<virtio::VirtioDevice> device,
                              const VirtioSlot& slot, const std::string& name,
                              const std::string& api_name) {
  std::vector<EventFd> kicks;
  for (size_t q = 0; q < device->queue_max_sizes().size(); ++q) {
    MINIVMM_TRY(kick, EventFd::create(EFD_NONBLOCK));
    // A driver's write of queue index q to QueueNotify signals this eventfd in the kernel: no
    // vCPU exit on the data path.
    MINIVMM_TRY_VOID(m.vm.register_ioeventfd(kick.fd(), IoEventSpace::mmio,
                                             slot.mmio_base + VIRTIO_MMIO_QUEUE_NOTIFY, 4, q));
    kicks.push_back(std::move(kick));
  }
  MINIVMM_TRY(irq, EventFd::create(EFD_NONBLOCK));
  MINIVMM_TRY_VOID(m.vm.register_irqfd(irq.fd(), slot.gsi));
  virtio::MmioTransportParams params{std::move(device), &m.memory, &m.loop.io_context(),
                                     forbidden_windows()};
  MINIVMM_TRY(transport,
              virtio::MmioTransport::create(std::move(params), std::move(kicks), std::move(irq)));
  Machine::Impl* mp = &m;
  transport->interrupt()->set_on_needs_reset([mp, api_name] {
    mp->report_device_error(api_name, "device needs reset (broken queue or failed activation)");
  });
  MINIVMM_TRY_VOID(
      m.mmio_bus.insert(transport, slot.mmio_base, virtio::MmioTransport::kWindowSize, name));
  m.virtio_transports.push_back(std::move(transport));
  return {};
}

Result<VirtioSlot> next_virtio_slot(const Machine::Impl& m, const std::string& what) {
  auto slot = virtio_slot(m.virtio_transports.size());
  if (!slot) return make_error(ErrorCode::invalid_config, "{}: no virtio slot left", what);
  return *slot;
}

Result<void> attach_block_devices(Machine::Impl& m, std::string& cmdline) {
  std::set<std::pair<dev_t, ino_t>> seen;
  for (size_t i = 0; i < m.config.disks.size(); ++i) {
    const DiskConfig& d = m.config.disks[i];
    auto context = [&](const Error& e) {
      return tl::unexpected(with_context(e, fmt::format("disks[{}] {}", i, d.path)));
    };
    struct stat st {};
    if (::stat(d.path.c_str(), &st) == 0 && !seen.insert({st.st_dev, st.st_ino}).second)
      return make_error(ErrorCode::invalid_config, "disks[{}] {}: the same file is attached twice",
                        i, d.path);
    block::DiskOptions options;
    options.access = d.read_only ? block::DiskAccess::read_only : block::DiskAccess::read_write;
    options.serial = d.serial;
    auto disk = block::DiskFile::open(d.path, options);
    if (!disk) return context(disk.error());
    const std::string id = disk_id(d, i);
    block::BlockDeviceOptions device_options;
    Machine::Impl* mp = &m;
    device_options.on_error = [mp, id](const std::string& e) { mp->report_device_error(id, e); };
    auto device = block::BlockDevice::create(std::move(*disk), device_options);
    if (!device) return context(device.error());
    (*device)->set_path(d.path);
    MINIVMM_TRY(slot, next_virtio_slot(m, fmt::format("disks[{}] {}", i, d.path)));
    if (auto r = attach_transport(m, *device, slot, fmt::format("virtio-blk{}", i), id); !r)
      return context(r.error());
    std::string serial = d.serial.empty() ? block::DiskFile::default_serial(d.path) : d.serial;
    m.disks.push_back({id, std::move(serial), std::move(*device), m.virtio_transports.back()});
    cmdline += " " + slot.kernel_parameter(virtio::MmioTransport::kWindowSize);
    if (d.root) cmdline += d.read_only ? " root=/dev/vda ro" : " root=/dev/vda rw";
  }
  return {};
}

}  // namespace minivmm
