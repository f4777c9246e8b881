// Which root filesystem the agent mounts, from the kernel cmdline word sandbox-run passes:
// `sandbox.root=FSTYPE:SOURCE[:ro]`, e.g. `sandbox.root=virtiofs:rootfs` or
// `sandbox.root=ext4:/dev/vda:ro`. Pure parsing; mounting is guest_init.hpp's.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace sandbox {

struct RootSpec {
  std::string fstype;  ///< "virtiofs" or "ext4"
  std::string source;  ///< the virtiofs tag or the block device
  bool read_only = false;
};

/// nullopt when the cmdline has no sandbox.root word (the agent then serves from the initramfs);
/// an error for a malformed word or an unsupported fstype.
tl::expected<std::optional<RootSpec>, std::string> parse_root_spec(std::string_view cmdline);

}  // namespace sandbox
