// The sandbox's initramfs, written at run time: an uncompressed newc cpio archive (the format
// the kernel unpacks, Documentation/driver-api/early-userspace/buffer-format.rst) holding the
// agent as /init, the directories it mounts on and /dev/console. The writer is pure (bytes in,
// bytes out); reading the agent and writing the file are the caller's.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sandbox {

/// Appends newc entries to an archive in memory. Names are relative ("init", "dev/console").
class CpioWriter {
 public:
  void add_directory(std::string_view name, uint32_t mode = 0755);
  void add_file(std::string_view name, std::string_view data, uint32_t mode = 0644);
  void add_char_device(std::string_view name, uint32_t major, uint32_t minor, uint32_t mode);
  /// Appends the TRAILER!!! entry and returns the archive; the writer is empty afterwards.
  std::string finish();

 private:
  void add(std::string_view name, uint32_t mode, std::string_view data, uint32_t rmajor,
           uint32_t rminor);
  std::string m_out;
  uint32_t m_ino = 1;
};

/// The whole initramfs: dev/, proc/, sys/, newroot/ (where the agent mounts the real root),
/// dev/console (5:1) and `agent` as the executable /init.
std::string make_agent_initramfs(std::string_view agent);

}  // namespace sandbox
