// validate_config: every check on a MachineConfig that needs no host resource, and
// validate_paths: the files it names exist and have the right kind (stat only, nothing opened).
// Both run before anything is opened or created (before /dev/kvm), with errors that name the
// field ("vcpus: 0 is outside 1..254", "disks[1].path: /x is a directory").
#pragma once

#include <minivmm/machine.hpp>
#include "vmm/sys/error.hpp"

namespace minivmm {

inline constexpr uint32_t kMaxVcpus = 254;             ///< MP table / xAPIC id limit
inline constexpr uint64_t kMinMemoryMib = 2;           ///< smaller cannot hold boot structures
inline constexpr uint64_t kMaxMemoryMib = 1ull << 20;  ///< 1 TiB
inline constexpr size_t kMaxVirtioDevices = 16;        ///< virtio-mmio slots (virtio_slots.hpp)
inline constexpr size_t kMaxDiskSerial = 20;           ///< VIRTIO_BLK_ID_BYTES
inline constexpr size_t kMaxFsTag = 36;                ///< virtio v1.2 5.11.4 tag[36]
inline constexpr size_t kMaxTapName = 15;              ///< IFNAMSIZ - 1
inline constexpr size_t kMaxDiskId = 32;               ///< DiskConfig::id
/// sockaddr_un::sun_path minus the NUL and the longest "_PORT" suffix guest-initiated vsock
/// connections add (uds_path_4294967295).
inline constexpr size_t kMaxVsockPath = 107 - 11;

Result<void> validate_config(const MachineConfig& config);
/// Kernel and initrd are regular files, disks regular files or block devices, share dirs
/// directories. Errors: the stat errno naming field and path, or invalid_config for a wrong kind.
Result<void> validate_paths(const MachineConfig& config);

/// The API name of disk `index`: DiskConfig::id, or the guest's name by position ("vda", ...).
std::string disk_id(const DiskConfig& d, size_t index);

}  // namespace minivmm
