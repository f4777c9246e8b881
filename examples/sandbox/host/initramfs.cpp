// newc cpio writer (initramfs.hpp): a 110-byte ASCII header of thirteen 8-digit hex fields, the
// NUL-terminated name padded to 4 bytes, then the data padded to 4 bytes.
#include "examples/sandbox/host/initramfs.hpp"

#include <sys/stat.h>

#include <cstdio>

namespace sandbox {
namespace {

void pad4(std::string& s) {
  while (s.size() % 4 != 0) s.push_back('\0');
}

}  // namespace

void CpioWriter::add(std::string_view name, uint32_t mode, std::string_view data, uint32_t rmajor,
                     uint32_t rminor) {
  char header[111];
  // Fields: magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor,
  // rdevminor, namesize (with the NUL), check.
  std::snprintf(header, sizeof header, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
                m_ino++, mode, 0u, 0u, S_ISDIR(mode) ? 2u : 1u, 0u,
                static_cast<uint32_t>(data.size()), 0u, 0u, rmajor, rminor,
                static_cast<uint32_t>(name.size() + 1), 0u);
  m_out.append(header, 110);
  m_out.append(name);
  m_out.push_back('\0');
  pad4(m_out);
  m_out.append(data);
  pad4(m_out);
}

void CpioWriter::add_directory(std::string_view name, uint32_t mode) {
  add(name, S_IFDIR | mode, {}, 0, 0);
}

void CpioWriter::add_file(std::string_view name, std::string_view data, uint32_t mode) {
  add(name, S_IFREG | mode, data, 0, 0);
}

void CpioWriter::add_char_device(std::string_view name, uint32_t major, uint32_t minor,
                                 uint32_t mode) {
  add(name, S_IFCHR | mode, {}, major, minor);
}

std::string CpioWriter::finish() {
  add("TRAILER!!!", 0, {}, 0, 0);
  m_ino = 1;
  std::string out = std::move(m_out);
  m_out.clear();
  return out;
}

std::string make_agent_initramfs(std::string_view agent) {
  CpioWriter w;
  for (const char* dir : {"dev", "proc", "sys", "newroot"}) w.add_directory(dir);
  w.add_char_device("dev/console", 5, 1, 0600);
  w.add_file("init", agent, 0755);
  return w.finish();
}

}  // namespace sandbox
