// validate_config: every check on a MachineConfig that needs no host resource, done before
// anything is opened or created, with errors that name the field ("vcpus: 0 is below 1").
#pragma once

#include <minivmm/machine.hpp>

namespace minivmm {

inline constexpr uint32_t kMaxVcpus = 254;             ///< MP table / xAPIC id limit
inline constexpr uint64_t kMinMemoryMib = 2;           ///< smaller cannot hold boot structures
inline constexpr uint64_t kMaxMemoryMib = 1ull << 20;  ///< 1 TiB
inline constexpr size_t kMaxVirtioDevices = 16;        ///< virtio-mmio slots (virtio_slots.hpp)
inline constexpr size_t kMaxDiskSerial = 20;           ///< VIRTIO_BLK_ID_BYTES
inline constexpr size_t kMaxFsTag = 36;                ///< virtio v1.2 5.11.4 tag[36]
inline constexpr size_t kMaxTapName = 15;              ///< IFNAMSIZ - 1

Result<void> validate_config(const MachineConfig& config);

}  // namespace minivmm
