// Runtime disk changes through the API: Machine::replace_disk (Kata's block "hotplug" on VMMs
// without hotplug: a new backing file behind an existing virtio-blk device) and
// Machine::set_disk_read_only before start. The file is opened here, on the caller's thread, so
// a bad path fails before the device is touched; the swap itself is the device's (it waits for
// in-flight requests on the event loop, see BlockDevice::replace_disk).
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "devices/block/block_device.hpp"
#include "devices/block/disk_file.hpp"
#include "vmm/machine/machine_impl.hpp"

namespace minivmm {

namespace {

const AttachedDisk* find_disk(const std::vector<AttachedDisk>& disks, std::string_view id) {
  for (const auto& d : disks)
    if (d.id == id) return &d;
  return nullptr;
}

// The swap's outcome, shared between the waiting API caller and the event loop.
struct SwapWait {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<bool> swapped;
};

}  // namespace

Result<void> Machine::Impl::replace_disk(std::string_view id, const std::string& path) {
  MachineState s = lifecycle.state();
  if (s == MachineState::stopping || s == MachineState::stopped)
    return make_error(ErrorCode::invalid_state, "replace_disk: machine is {}", to_string(s));
  const AttachedDisk* disk = find_disk(disks, id);
  if (!disk) return make_error(ErrorCode::invalid_config, "replace_disk: no disk with id {:?}", id);
  if (path.empty()) return make_error(ErrorCode::invalid_config, "replace_disk {}: empty path", id);
  block::DiskOptions options;
  options.access =
      disk->device->read_only() ? block::DiskAccess::read_only : block::DiskAccess::read_write;
  // The guest keeps seeing the serial it probed, whatever the new file is called.
  options.serial = disk->serial;
  auto file = block::DiskFile::open(path, options);
  if (!file) return tl::unexpected(with_context(file.error(), fmt::format("replace_disk {}", id)));
  auto wait = std::make_shared<SwapWait>();
  disk->device->replace_disk(std::move(*file), path, [wait](bool swapped) {
    {
      std::lock_guard lock(wait->mu);
      wait->swapped = swapped;
    }
    wait->cv.notify_all();
  });
  // The event loop finishes the swap once the old file's requests are done; if the machine
  // stops first the loop never will, so keep an eye on the state.
  std::unique_lock lock(wait->mu);
  while (!wait->cv.wait_for(lock, std::chrono::milliseconds(50),
                            [&] { return wait->swapped.has_value(); })) {
    if (stop.stopping())
      return make_error(ErrorCode::invalid_state,
                        "replace_disk {}: the machine stopped before the swap finished", id);
  }
  if (!*wait->swapped)
    return make_error(ErrorCode::invalid_state,
                      "replace_disk {}: superseded by a later replace_disk of the same disk", id);
  return {};
}

Result<void> Machine::Impl::set_disk_read_only(std::string_view id, bool read_only) {
  if (MachineState s = lifecycle.state(); s != MachineState::created)
    return make_error(ErrorCode::invalid_state, "set_disk_read_only: machine is {}", to_string(s));
  const AttachedDisk* disk = find_disk(disks, id);
  if (!disk)
    return make_error(ErrorCode::invalid_config, "set_disk_read_only: no disk with id {:?}", id);
  if (disk->device->read_only() == read_only) return {};
  const std::string path = disk->device->path();
  block::DiskOptions options;
  options.access = read_only ? block::DiskAccess::read_only : block::DiskAccess::read_write;
  options.serial = disk->serial;
  auto file = block::DiskFile::open(path, options);
  if (!file)
    return tl::unexpected(with_context(file.error(), fmt::format("set_disk_read_only {}", id)));
  MINIVMM_TRY_VOID(disk->device->set_disk(std::move(*file), path));
  // The transport offers the features it read at create: VIRTIO_BLK_F_RO changed since.
  disk->transport->refresh_device_features();
  return {};
}

}  // namespace minivmm
