// Helpers for the virtio-blk unit tests: a 16 MiB test GuestMemory, a ChainBuilder that lays out
// request headers and buffers in it and builds the DescriptorChain SplitQueue::pop() would return,
// and TempImage, a raw disk image in a private temporary directory (removed afterwards), with
// optional tmpfs mounting for ENOSPC tests. It owns no production logic.
#pragma once

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "devices/block/block_request.hpp"
#include "devices/virtio/descriptor_chain.hpp"
#include "vmm/memory/guest_memory.hpp"
#include "vmm/memory/x86_layout.hpp"

namespace minivmm::block::test {

inline GuestMemory make_memory(uint64_t bytes = 16 << 20) {
  auto m = GuestMemory::create(x86::ram_regions(bytes));
  REQUIRE_MESSAGE(m.has_value(), (m ? std::string() : m.error().message()));
  return std::move(*m);
}

/// Builds one chain in guest memory; buffers are allocated upwards from `base`.
class ChainBuilder {
 public:
  explicit ChainBuilder(const GuestMemory& mem, uint64_t base = 0x10000, uint16_t head = 7)
      : m_mem(mem), m_next(base) {
    chain.head = head;
  }

  uint64_t alloc(uint32_t len) {
    uint64_t a = m_next;
    m_next += (uint64_t{len} + 15) & ~uint64_t{15};
    return a;
  }
  /// A readable descriptor holding `bytes`.
  ChainBuilder& readable(const std::vector<uint8_t>& bytes) {
    uint64_t a = alloc(static_cast<uint32_t>(bytes.size()));
    REQUIRE(m_mem.write(a, bytes));
    return add(a, static_cast<uint32_t>(bytes.size()), false);
  }
  /// A 16-byte header in one readable descriptor.
  ChainBuilder& header(uint32_t type, uint64_t sector) {
    return readable(header_bytes(type, sector));
  }
  /// A writable descriptor of `len` bytes filled with `fill`.
  ChainBuilder& writable(uint32_t len, uint8_t fill = 0xee) {
    uint64_t a = alloc(len);
    REQUIRE(m_mem.write(a, std::vector<uint8_t>(len, fill)));
    return add(a, len, true);
  }
  /// The 1-byte status descriptor, pre-filled with 0xff.
  ChainBuilder& status() { return writable(1, 0xff); }
  ChainBuilder& add(uint64_t addr, uint32_t len, bool device_writable) {
    chain.descriptors.push_back({addr, len, device_writable});
    (device_writable ? chain.writable_len : chain.readable_len) += len;
    return *this;
  }
  uint64_t last_addr() const { return chain.descriptors.back().addr; }
  uint8_t status_byte() const {
    const auto& d = chain.descriptors.back();
    return *m_mem.read_obj<uint8_t>(d.addr + d.len - 1);
  }

  static std::vector<uint8_t> header_bytes(uint32_t type, uint64_t sector) {
    std::vector<uint8_t> h(16, 0);
    std::memcpy(h.data(), &type, 4);
    std::memcpy(h.data() + 8, &sector, 8);
    return h;
  }
  static std::vector<uint8_t> segment_bytes(uint64_t sector, uint32_t num, uint32_t flags) {
    std::vector<uint8_t> s(16, 0);
    std::memcpy(s.data(), &sector, 8);
    std::memcpy(s.data() + 8, &num, 4);
    std::memcpy(s.data() + 12, &flags, 4);
    return s;
  }

  virtio::DescriptorChain chain;

 private:
  const GuestMemory& m_mem;
  uint64_t m_next;
};

/// A private temporary directory with one raw image; optionally a size-limited tmpfs.
class TempImage {
 public:
  explicit TempImage(uint64_t size, bool tmpfs_mb = false) {
    char tmpl[] = "/tmp/minivmm-blk-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    m_dir = tmpl;
    if (tmpfs_mb) m_mounted = ::mount("tmpfs", m_dir.c_str(), "tmpfs", 0, "size=1m") == 0;
    path = m_dir + "/disk.img";
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(::ftruncate(fd, static_cast<off_t>(size)) == 0);
    ::close(fd);
  }
  ~TempImage() {
    std::filesystem::remove(path);
    if (m_mounted) ::umount(m_dir.c_str());
    std::filesystem::remove_all(m_dir);
  }
  bool mounted() const { return m_mounted; }

  std::vector<uint8_t> read(uint64_t offset, size_t len) const {
    std::vector<uint8_t> out(len);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    REQUIRE(::pread(fd, out.data(), len, static_cast<off_t>(offset)) == static_cast<ssize_t>(len));
    ::close(fd);
    return out;
  }
  void write(uint64_t offset, const std::vector<uint8_t>& bytes) const {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    REQUIRE(::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset)) ==
            static_cast<ssize_t>(bytes.size()));
    ::close(fd);
  }
  uint64_t allocated_bytes() const {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return static_cast<uint64_t>(st.st_blocks) * 512;
  }

  std::string path;

 private:
  std::string m_dir;
  bool m_mounted = false;
};

}  // namespace minivmm::block::test
