// Implementation of the --net/--vsock/--fs/--share value parsers: the value is split at commas
// into `key=value` parts (or bare flags such as `ro`), each key may appear once, and numbers are
// parsed whole with std::from_chars so "12x" or an overflowing value is an error, not a prefix.
#include "vmm/cli/device_options.hpp"

#include <charconv>
#include <map>
#include <optional>
#include <set>

#include "vmm/sys/error.hpp"

namespace minivmm::cli {
namespace {

using Parts = std::map<std::string, std::string>;

/// Splits "k=v,k2=v2,flag" into a map; flags map to "". Rejects empty parts, unknown or
/// repeated keys, and flags not in `flags`.
Result<Parts> split(const std::string& option, const std::string& spec,
                    const std::set<std::string>& keys, const std::set<std::string>& flags = {}) {
  Parts out;
  size_t start = 0;
  while (start <= spec.size()) {
    size_t comma = spec.find(',', start);
    std::string part =
        spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    size_t eq = part.find('=');
    std::string key = part.substr(0, eq);
    bool known = eq == std::string::npos ? flags.count(key) != 0 : keys.count(key) != 0;
    if (part.empty() || !known)
      return make_error(ErrorCode::invalid_config, "{}: unknown option '{}' in '{}'", option, part,
                        spec);
    if (!out.emplace(key, eq == std::string::npos ? "" : part.substr(eq + 1)).second)
      return make_error(ErrorCode::invalid_config, "{}: '{}' given twice in '{}'", option, key,
                        spec);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

template <typename T>
Result<T> number(const std::string& option, const std::string& key, const std::string& text) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size())
    return make_error(ErrorCode::invalid_config, "{}: {}='{}' is not a valid number", option, key,
                      text);
  return value;
}

Result<std::string> required(const std::string& option, const Parts& p, const std::string& key) {
  auto it = p.find(key);
  if (it == p.end() || it->second.empty())
    return make_error(ErrorCode::invalid_config, "{}: missing {}=", option, key);
  return it->second;
}

}  // namespace

Result<std::array<uint8_t, 6>> parse_mac(const std::string& text) {
  std::array<uint8_t, 6> mac{};
  bool ok = text.size() == 17;
  for (size_t i = 0; ok && i < 6; ++i) {
    const char* p = text.data() + i * 3;
    auto [end, ec] = std::from_chars(p, p + 2, mac[i], 16);
    ok = ec == std::errc() && end == p + 2 && (i == 5 || p[2] == ':');
  }
  if (!ok) return make_error(ErrorCode::invalid_config, "mac '{}' is not aa:bb:cc:dd:ee:ff", text);
  return mac;
}

Result<NetConfig> parse_net(const std::string& spec) {
  const std::string opt = "--net";
  MINIVMM_TRY(p, split(opt, spec, {"tap", "fd", "mac", "mtu"}));
  NetConfig n;
  if (p.count("tap") == p.count("fd"))
    return make_error(ErrorCode::invalid_config, "{}: give exactly one of tap=NAME or fd=N in '{}'",
                      opt, spec);
  if (p.count("tap")) {
    MINIVMM_TRY(name, required(opt, p, "tap"));
    n.tap_name = std::move(name);
  } else {
    MINIVMM_TRY(fd, number<int>(opt, "fd", p["fd"]));
    n.tap_fd = fd;
  }
  if (p.count("mac")) {
    auto mac = parse_mac(p["mac"]);
    if (!mac) return make_error(ErrorCode::invalid_config, "{}: {}", opt, mac.error().message());
    n.mac = *mac;
  }
  if (p.count("mtu")) {
    MINIVMM_TRY(mtu, number<uint16_t>(opt, "mtu", p["mtu"]));
    n.mtu = mtu;
  }
  return n;
}

Result<VsockConfig> parse_vsock(const std::string& spec) {
  const std::string opt = "--vsock";
  MINIVMM_TRY(p, split(opt, spec, {"cid", "uds"}));
  VsockConfig v;
  MINIVMM_TRY(cid_text, required(opt, p, "cid"));
  MINIVMM_TRY(cid, number<uint64_t>(opt, "cid", cid_text));
  MINIVMM_TRY(uds, required(opt, p, "uds"));
  v.guest_cid = cid;
  v.uds_path = std::move(uds);
  return v;
}

Result<FsConfig> parse_fs(const std::string& spec) {
  const std::string opt = "--fs";
  MINIVMM_TRY(p, split(opt, spec, {"tag", "socket"}));
  FsConfig f;
  MINIVMM_TRY(tag, required(opt, p, "tag"));
  MINIVMM_TRY(socket, required(opt, p, "socket"));
  f.tag = std::move(tag);
  f.socket_path = std::move(socket);
  return f;
}

Result<ShareConfig> parse_share(const std::string& spec) {
  const std::string opt = "--share";
  MINIVMM_TRY(p, split(opt, spec, {"tag", "dir"}, {"ro"}));
  ShareConfig s;
  MINIVMM_TRY(tag, required(opt, p, "tag"));
  MINIVMM_TRY(dir, required(opt, p, "dir"));
  s.tag = std::move(tag);
  s.dir = std::move(dir);
  s.read_only = p.count("ro") != 0;
  return s;
}

}  // namespace minivmm::cli
