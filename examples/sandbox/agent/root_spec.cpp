// Parsing of `sandbox.root=FSTYPE:SOURCE[:ro]` from the kernel cmdline (root_spec.hpp).
#include "examples/sandbox/agent/root_spec.hpp"

namespace sandbox {

tl::expected<std::optional<RootSpec>, std::string> parse_root_spec(std::string_view cmdline) {
  constexpr std::string_view key = "sandbox.root=";
  std::optional<std::string_view> value;
  size_t pos = 0;
  while (pos < cmdline.size()) {
    size_t end = cmdline.find_first_of(" \t\n", pos);
    if (end == std::string_view::npos) end = cmdline.size();
    auto word = cmdline.substr(pos, end - pos);
    if (word.starts_with(key)) value = word.substr(key.size());  // the last one wins
    pos = end + 1;
  }
  if (!value) return std::nullopt;
  auto bad = [&] {
    return tl::unexpected("sandbox.root=" + std::string(*value) + ": expected FSTYPE:SOURCE[:ro]");
  };
  auto colon = value->find(':');
  if (colon == std::string_view::npos || colon == 0) return bad();
  RootSpec r;
  r.fstype = std::string(value->substr(0, colon));
  auto rest = value->substr(colon + 1);
  if (rest.ends_with(":ro")) {
    r.read_only = true;
    rest.remove_suffix(3);
  }
  if (rest.empty()) return bad();
  r.source = std::string(rest);
  if (r.fstype != "virtiofs" && r.fstype != "ext4")
    return tl::unexpected("sandbox.root: unsupported filesystem type " + r.fstype);
  return r;
}

}  // namespace sandbox
