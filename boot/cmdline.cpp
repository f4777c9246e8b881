// Implementation of the command-line check (boot.rst "cmdline_size": the maximum size of the
// command line without the terminating zero).
#include "boot/cmdline.hpp"

#include <algorithm>

#include "boot/boot_layout.hpp"

namespace minivmm::boot {

Result<std::vector<uint8_t>> encode_cmdline(std::string_view cmdline, uint64_t max_with_nul) {
  uint64_t limit = std::min(max_with_nul, layout::kCmdlineMax);
  if (cmdline.size() >= limit)
    return make_error(ErrorCode::invalid_config,
                      "kernel command line of {} bytes exceeds the limit of {} bytes",
                      cmdline.size(), limit == 0 ? 0 : limit - 1);
  if (cmdline.find('\0') != std::string_view::npos)
    return make_error(ErrorCode::invalid_config, "kernel command line contains a NUL byte");
  std::vector<uint8_t> out(cmdline.begin(), cmdline.end());
  out.push_back(0);
  return out;
}

}  // namespace minivmm::boot
