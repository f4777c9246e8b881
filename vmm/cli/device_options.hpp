// Parsing of the comma-separated `key=value` device options of `minivmm run`: --net, --vsock,
// --fs and --share. Each parser returns the public config struct or an invalid_config error
// naming the option and the offending part ("--net: unknown key 'foo' in 'tap=t0,foo=1'"). It
// checks syntax only; value ranges are validate_config's job (vmm/machine/config_validation).
#pragma once

#include <string>

#include <minivmm/machine.hpp>

namespace minivmm::cli {

/// "tap=NAME[,mac=MAC][,mtu=N]" or "fd=N[,mac=MAC][,mtu=N]" (fd: an inherited open tap fd).
Result<NetConfig> parse_net(const std::string& spec);

/// "cid=N,uds=PATH".
Result<VsockConfig> parse_vsock(const std::string& spec);

/// "tag=TAG,socket=PATH".
Result<FsConfig> parse_fs(const std::string& spec);

/// "tag=TAG,dir=DIR[,ro]".
Result<ShareConfig> parse_share(const std::string& spec);

/// "aa:bb:cc:dd:ee:ff" (hex, case-insensitive).
Result<std::array<uint8_t, 6>> parse_mac(const std::string& text);

}  // namespace minivmm::cli
