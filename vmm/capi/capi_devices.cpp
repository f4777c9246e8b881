// The C configuration builder's device part: disks, NICs, the vsock device and virtio-fs shares,
// each appended as the C++ value type of config.hpp. As for the scalar setters, range checks stay
// with Machine::create; only NULL strings, unknown flags and values wider than their C++ field
// are refused here, with the field named by its position ("nets[1].mtu").
#include <array>
#include <cstring>

#include <fmt/format.h>

#include "vmm/capi/capi_call.hpp"

using minivmm::capi::CapiCall;
using minivmm::capi::with_handle;

namespace {

// -EINVAL naming `field` when `flags` has a bit outside `allowed`.
int check_flags(CapiCall& call, uint32_t flags, uint32_t allowed, const std::string& field) {
  if ((flags & ~allowed) == 0) return 0;
  return call.fail(-EINVAL, fmt::format("{}: unknown flag bits {:#x}", field, flags & ~allowed));
}

}  // namespace

extern "C" {

int minivmm_config_add_disk(minivmm_config* config, const char* id, const char* path,
                            uint32_t flags, const char* serial) {
  return with_handle("minivmm_config_add_disk", config, "config", [&](CapiCall& call, auto& c) {
    std::string field = fmt::format("disks[{}]", c.config.disks.size());
    if (path == nullptr) return call.null_argument(field + ".path");
    if (int rc = check_flags(call, flags, MINIVMM_READ_ONLY | MINIVMM_ROOT, field + ".flags"))
      return rc;
    minivmm::DiskConfig d;
    d.id = id != nullptr ? id : "";
    d.path = path;
    d.read_only = (flags & MINIVMM_READ_ONLY) != 0;
    d.root = (flags & MINIVMM_ROOT) != 0;
    d.serial = serial != nullptr ? serial : "";
    c.config.disks.push_back(std::move(d));
    return 0;
  });
}

int minivmm_config_add_net(minivmm_config* config, const char* tap_name, int tap_fd,
                           const uint8_t* mac, uint32_t mtu) {
  return with_handle("minivmm_config_add_net", config, "config", [&](CapiCall& call, auto& c) {
    std::string field = fmt::format("nets[{}]", c.config.nets.size());
    if (mtu > UINT16_MAX)
      return call.fail(-EINVAL, fmt::format("{}.mtu: {} is above 65535", field, mtu));
    minivmm::NetConfig n;
    n.tap_name = tap_name != nullptr ? tap_name : "";
    n.tap_fd = tap_fd >= 0 ? tap_fd : -1;
    if (mac != nullptr) {
      std::array<uint8_t, 6> m{};
      std::memcpy(m.data(), mac, m.size());
      n.mac = m;
    }
    if (mtu != 0) n.mtu = static_cast<uint16_t>(mtu);
    c.config.nets.push_back(std::move(n));
    return 0;
  });
}

int minivmm_config_set_vsock(minivmm_config* config, uint64_t guest_cid, const char* uds_path) {
  return with_handle("minivmm_config_set_vsock", config, "config", [&](CapiCall&, auto& c) {
    if (uds_path == nullptr) {
      c.config.vsock.reset();
      return 0;
    }
    c.config.vsock = minivmm::VsockConfig{guest_cid, uds_path};
    return 0;
  });
}

int minivmm_config_add_fs(minivmm_config* config, const char* tag, const char* socket_path,
                          uint32_t flags) {
  return with_handle("minivmm_config_add_fs", config, "config", [&](CapiCall& call, auto& c) {
    std::string field = fmt::format("fs[{}]", c.config.fs.size());
    if (tag == nullptr) return call.null_argument(field + ".tag");
    if (socket_path == nullptr) return call.null_argument(field + ".socket_path");
    if (int rc = check_flags(call, flags, MINIVMM_ROOT, field + ".flags")) return rc;
    c.config.fs.push_back(minivmm::FsConfig{tag, socket_path, (flags & MINIVMM_ROOT) != 0});
    return 0;
  });
}

int minivmm_config_add_share(minivmm_config* config, const char* tag, const char* dir,
                             uint32_t flags, const char* virtiofsd_path) {
  return with_handle("minivmm_config_add_share", config, "config", [&](CapiCall& call, auto& c) {
    std::string field = fmt::format("shares[{}]", c.config.shares.size());
    if (tag == nullptr) return call.null_argument(field + ".tag");
    if (dir == nullptr) return call.null_argument(field + ".dir");
    if (int rc = check_flags(call, flags, MINIVMM_READ_ONLY | MINIVMM_ROOT, field + ".flags"))
      return rc;
    minivmm::ShareConfig s;
    s.tag = tag;
    s.dir = dir;
    s.read_only = (flags & MINIVMM_READ_ONLY) != 0;
    s.root = (flags & MINIVMM_ROOT) != 0;
    if (virtiofsd_path != nullptr) s.virtiofsd_path = virtiofsd_path;
    c.config.shares.push_back(std::move(s));
    return 0;
  });
}

}  // extern "C"
