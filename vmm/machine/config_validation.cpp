// Implementation of configuration validation.
#include "vmm/machine/config_validation.hpp"

#include <sys/stat.h>

namespace minivmm {

std::string disk_id(const DiskConfig& d, size_t index) {
  if (!d.id.empty()) return d.id;
  // The guest's names: vda..vdz, then vdaa.. (16 virtio slots never get that far).
  std::string name = "vd";
  if (index >= 26) name += static_cast<char>('a' + index / 26 - 1);
  name += static_cast<char>('a' + index % 26);
  return name;
}

namespace {

bool id_char(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
         ch == '-' || ch == '_' || ch == '.';
}

Result<void> validate_disk_id(const std::vector<DiskConfig>& disks, size_t i) {
  const std::string& id = disks[i].id;
  if (!id.empty()) {
    if (id.size() > kMaxDiskId)
      return make_error(ErrorCode::invalid_config, "disks[{}].id: {} bytes, at most {}", i,
                        id.size(), kMaxDiskId);
    for (char ch : id)
      if (!id_char(ch))
        return make_error(ErrorCode::invalid_config,
                          "disks[{}].id: {:?} may only hold letters, digits, '-', '_' and '.'", i,
                          id);
  }
  const std::string name = disk_id(disks[i], i);
  for (size_t j = 0; j < i; ++j)
    if (disk_id(disks[j], j) == name)
      return make_error(ErrorCode::invalid_config, "disks[{}].id: {:?} is already disks[{}]", i,
                        name, j);
  return {};
}

Result<void> validate_disks(const std::vector<DiskConfig>& disks) {
  for (size_t i = 0; i < disks.size(); ++i) {
    const DiskConfig& d = disks[i];
    if (d.path.empty()) return make_error(ErrorCode::invalid_config, "disks[{}]: empty path", i);
    MINIVMM_TRY_VOID(validate_disk_id(disks, i));
    if (d.serial.size() > kMaxDiskSerial)
      return make_error(ErrorCode::invalid_config, "disks[{}].serial: {} bytes, at most {}", i,
                        d.serial.size(), kMaxDiskSerial);
    if (d.root && i != 0)
      return make_error(ErrorCode::invalid_config,
                        "disks[{}].root: only the first disk can be root", i);
    for (size_t j = 0; j < i; ++j)
      if (disks[j].path == d.path)
        return make_error(ErrorCode::invalid_config, "disks[{}]: {} is already disks[{}]", i,
                          d.path, j);
  }
  return {};
}

Result<void> validate_nets(const std::vector<NetConfig>& nets) {
  for (size_t i = 0; i < nets.size(); ++i) {
    const NetConfig& n = nets[i];
    if (n.tap_fd < 0 && n.tap_name.empty())
      return make_error(ErrorCode::invalid_config, "nets[{}]: neither a tap name nor a tap fd", i);
    if (n.tap_fd < 0 && n.tap_name.size() > kMaxTapName)
      return make_error(ErrorCode::invalid_config, "nets[{}].tap_name: {:?} is longer than {}", i,
                        n.tap_name, kMaxTapName);
    if (n.mtu < 68)
      return make_error(ErrorCode::invalid_config, "nets[{}].mtu: {} is below 68", i, n.mtu);
    if (n.mac && (((*n.mac)[0] & 1) != 0 || *n.mac == std::array<uint8_t, 6>{}))
      return make_error(ErrorCode::invalid_config, "nets[{}].mac: not a unicast address", i);
    for (size_t j = 0; j < i; ++j) {
      if (n.tap_fd < 0 && nets[j].tap_fd < 0 && nets[j].tap_name == n.tap_name)
        return make_error(ErrorCode::invalid_config, "nets[{}]: tap {} is already nets[{}]", i,
                          n.tap_name, j);
      if (n.mac && nets[j].mac == n.mac)
        return make_error(ErrorCode::invalid_config, "nets[{}].mac: same as nets[{}]", i, j);
    }
  }
  return {};
}

Result<void> validate_vsock(const std::optional<VsockConfig>& v, const std::vector<FsConfig>& fs) {
  if (!v) return {};
  // CIDs 0-2 are the hypervisor, local and host; U32_MAX is VMADDR_CID_ANY.
  if (v->guest_cid < 3 || v->guest_cid >= 0xFFFFFFFFull)
    return make_error(ErrorCode::invalid_config, "vsock.guest_cid: {} is outside 3..4294967294",
                      v->guest_cid);
  if (v->uds_path.empty()) return make_error(ErrorCode::invalid_config, "vsock.uds_path: empty");
  if (v->uds_path.size() > kMaxVsockPath)
    return make_error(ErrorCode::invalid_config,
                      "vsock.uds_path: {} bytes, at most {} (a Unix socket path plus _PORT)",
                      v->uds_path.size(), kMaxVsockPath);
  // Creating the vsock socket replaces whatever is at its path: never a backend's socket.
  for (size_t i = 0; i < fs.size(); ++i)
    if (fs[i].socket_path == v->uds_path)
      return make_error(ErrorCode::invalid_config, "vsock.uds_path: {} is also fs[{}].socket_path",
                        v->uds_path, i);
  return {};
}

Result<void> validate_tag(std::string_view field, const std::string& tag,
                          std::vector<std::string>& seen) {
  if (tag.empty() || tag.size() > kMaxFsTag)
    return make_error(ErrorCode::invalid_config, "{}.tag: {:?} must be 1..{} bytes", field, tag,
                      kMaxFsTag);
  for (const auto& t : seen)
    if (t == tag)
      return make_error(ErrorCode::invalid_config, "{}.tag: {:?} is used twice", field, tag);
  seen.push_back(tag);
  return {};
}

Result<void> validate_fs(const MachineConfig& c) {
  std::vector<std::string> tags;
  for (size_t i = 0; i < c.fs.size(); ++i) {
    auto field = fmt::format("fs[{}]", i);
    MINIVMM_TRY_VOID(validate_tag(field, c.fs[i].tag, tags));
    if (c.fs[i].socket_path.empty())
      return make_error(ErrorCode::invalid_config, "{}.socket_path: empty", field);
  }
  for (size_t i = 0; i < c.shares.size(); ++i) {
    auto field = fmt::format("shares[{}]", i);
    MINIVMM_TRY_VOID(validate_tag(field, c.shares[i].tag, tags));
    if (c.shares[i].dir.empty())
      return make_error(ErrorCode::invalid_config, "{}.dir: empty", field);
    if (c.shares[i].virtiofsd_path.empty())
      return make_error(ErrorCode::invalid_config, "{}.virtiofsd_path: empty", field);
  }
  return {};
}

Result<void> validate_devices(const MachineConfig& c) {
  const size_t n =
      c.disks.size() + c.nets.size() + (c.vsock ? 1 : 0) + c.fs.size() + c.shares.size();
  if (n > kMaxVirtioDevices)
    return make_error(ErrorCode::invalid_config,
                      "devices: {} virtio devices (disks, nets, vsock, fs, shares), at most {}", n,
                      kMaxVirtioDevices);
  size_t roots = (!c.disks.empty() && c.disks[0].root) ? 1 : 0;
  for (const auto& f : c.fs) roots += f.root ? 1 : 0;
  for (const auto& s : c.shares) roots += s.root ? 1 : 0;
  if (roots > 1)
    return make_error(ErrorCode::invalid_config,
                      "root: {} root devices among disks, fs and shares, at most 1", roots);
  MINIVMM_TRY_VOID(validate_disks(c.disks));
  MINIVMM_TRY_VOID(validate_nets(c.nets));
  MINIVMM_TRY_VOID(validate_vsock(c.vsock, c.fs));
  return validate_fs(c);
}

}  // namespace

Result<void> validate_config(const MachineConfig& c) {
  if (c.vcpus < 1 || c.vcpus > kMaxVcpus)
    return make_error(ErrorCode::invalid_config, "vcpus: {} is outside 1..{}", c.vcpus, kMaxVcpus);
  if (c.memory_mib < kMinMemoryMib || c.memory_mib > kMaxMemoryMib)
    return make_error(ErrorCode::invalid_config, "memory_mib: {} MiB is outside {}..{} MiB",
                      c.memory_mib, kMinMemoryMib, kMaxMemoryMib);
  if (c.kernel_path.empty())
    return make_error(ErrorCode::invalid_config, "kernel: no kernel image given");
  if (c.console.output == ConsoleConfig::Output::file && c.console.path.empty())
    return make_error(ErrorCode::invalid_config, "console: file output needs a path");
  if (c.console.output == ConsoleConfig::Output::callback && !c.console.on_output)
    return make_error(ErrorCode::invalid_config, "console: callback output needs on_output");
  if (c.cmdline.find('\0') != std::string::npos)
    return make_error(ErrorCode::invalid_config, "cmdline: contains a NUL byte");
  return validate_devices(c);
}

namespace {

enum class Kind { regular, disk, directory };

Result<void> check_path(const std::string& field, const std::string& path, Kind kind) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return errno_error("{}: {}", field, path);
  const bool ok = kind == Kind::directory ? S_ISDIR(st.st_mode)
                  : kind == Kind::disk    ? S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)
                                          : S_ISREG(st.st_mode);
  if (ok) return {};
  const char* what = S_ISDIR(st.st_mode) ? "a directory" : "not a regular file";
  if (kind == Kind::directory) what = "not a directory";
  if (kind == Kind::disk && !S_ISDIR(st.st_mode))
    what = "neither a regular file nor a block device";
  return make_error(ErrorCode::invalid_config, "{}: {} is {}", field, path, what);
}

}  // namespace

Result<void> validate_paths(const MachineConfig& c) {
  MINIVMM_TRY_VOID(check_path("kernel", c.kernel_path, Kind::regular));
  if (!c.initrd_path.empty()) MINIVMM_TRY_VOID(check_path("initrd", c.initrd_path, Kind::regular));
  for (size_t i = 0; i < c.disks.size(); ++i)
    MINIVMM_TRY_VOID(check_path(fmt::format("disks[{}].path", i), c.disks[i].path, Kind::disk));
  for (size_t i = 0; i < c.shares.size(); ++i)
    MINIVMM_TRY_VOID(
        check_path(fmt::format("shares[{}].dir", i), c.shares[i].dir, Kind::directory));
  return {};
}

}  // namespace minivmm
