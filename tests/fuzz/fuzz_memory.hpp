// The guest memory both virtio fuzzers use: RAM [0, 32 KiB) and [32 KiB, 48 KiB) (adjacent
// regions), a hole [48 KiB, 64 KiB), RAM [64 KiB, 68 KiB). Created once per process; each input
// starts from zeroed RAM. Also a little-endian reader over the fuzzer's input bytes.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "vmm/memory/guest_memory.hpp"

namespace minivmm::virtio::fuzz {

inline constexpr uint64_t kLowRamEnd = 0xc000;

inline const GuestMemory& fuzz_memory() {
  static GuestMemory mem = [] {
    RegionSpec specs[] = {{0, 0x8000}, {0x8000, 0x4000}, {0x10000, 0x1000}};
    auto m = GuestMemory::create(specs);
    if (!m) std::abort();
    return std::move(*m);
  }();
  for (const GuestRegion& r : mem.regions()) std::memset(r.host, 0, r.size);
  return mem;
}

/// Consumes little-endian integers from the input; yields 0 once it runs dry.
class InputReader {
 public:
  InputReader(const uint8_t* data, size_t size) : m_data(data), m_size(size) {}
  template <typename T>
  T take() {
    T v{};
    size_t n = std::min(sizeof v, m_size - m_pos);
    std::memcpy(&v, m_data + m_pos, n);
    m_pos += n;
    return v;
  }
  std::span<const uint8_t> take_bytes(size_t n) {
    n = std::min(n, m_size - m_pos);
    std::span<const uint8_t> s(m_data + m_pos, n);
    m_pos += n;
    return s;
  }
  size_t left() const { return m_size - m_pos; }

 private:
  const uint8_t* m_data;
  size_t m_size;
  size_t m_pos = 0;
};

}  // namespace minivmm::virtio::fuzz
