// GuestMemory: the guest's RAM, split into guest-physical regions, backed either by one memfd
// mapped MAP_SHARED (so vhost-user backends can map the same pages) or, when nothing outside the
// process needs the pages, by private anonymous memory that transparent huge pages can back (2 MiB
// pages: far fewer page faults for the VMM and far fewer nested-page-table faults for the guest).
// It is the only way code touches guest RAM: every access is checked with overflow-safe arithmetic
// against the region table, and a range that leaves RAM or falls into a hole is refused. It does
// not know about KVM slots (vmm/kvm does) or about the x86 layout policy (x86_layout.hpp).
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <type_traits>
#include <vector>

#include "vmm/sys/error.hpp"
#include "vmm/sys/mapping.hpp"
#include "vmm/sys/unique_fd.hpp"

namespace minivmm {

/// One contiguous guest-physical RAM range and where it lives on the host.
struct GuestRegion {
  uint64_t gpa = 0;         ///< guest-physical start
  uint64_t size = 0;        ///< bytes, page-aligned
  uint8_t* host = nullptr;  ///< host address of gpa
  uint64_t fd_offset = 0;   ///< offset of gpa's page in the memfd
  uint64_t end() const noexcept { return gpa + size; }
};

/// How guest RAM is backed.
enum class GuestMemoryBacking {
  shared_memfd,       ///< a memfd (memfd() >= 0) other processes can map: vhost-user needs this
  private_anonymous,  ///< private anonymous, 2 MiB aligned, MADV_HUGEPAGE; memfd() is -1
};

/// A requested region: page-aligned, non-overlapping, given in ascending gpa order.
struct RegionSpec {
  uint64_t gpa;
  uint64_t size;
};

class GuestMemory {
 public:
  /// Creates the backing for all regions back to back and maps it once.
  /// Errors: invalid_config for empty, unaligned, overlapping, unordered or overflowing specs;
  /// errno errors from memfd_create/ftruncate/mmap.
  static Result<GuestMemory> create(std::span<const RegionSpec> specs,
                                    GuestMemoryBacking backing = GuestMemoryBacking::shared_memfd);

  GuestMemory(GuestMemory&&) noexcept = default;
  GuestMemory& operator=(GuestMemory&&) noexcept = default;

  std::span<const GuestRegion> regions() const noexcept { return m_regions; }
  /// The memfd of shared_memfd backing; -1 for private_anonymous.
  int memfd() const noexcept { return m_memfd.get(); }
  uint64_t total_size() const noexcept { return m_mapping.size(); }
  /// One past the highest guest-physical RAM address.
  uint64_t end_gpa() const noexcept { return m_regions.back().end(); }

  /// True when [gpa, gpa+len) is entirely RAM (it may span adjacent regions). len 0 is true when
  /// gpa is inside RAM or at its very end of a region.
  bool contains(uint64_t gpa, uint64_t len) const noexcept;

  /// Host view of [gpa, gpa+len) when it lies inside a single region; nullopt otherwise
  /// (past RAM, in a hole, crossing regions, or gpa+len overflowing).
  std::optional<std::span<uint8_t>> slice(uint64_t gpa, uint64_t len) const noexcept;

  /// Copies guest bytes out/in; the range may span adjacent regions. false, and nothing copied,
  /// when any byte is outside RAM.
  bool read(uint64_t gpa, std::span<uint8_t> out) const noexcept;
  bool write(uint64_t gpa, std::span<const uint8_t> in) const noexcept;
  /// Fills [gpa, gpa+len) with zeroes; false, and nothing written, when it is not all RAM.
  bool fill_zero(uint64_t gpa, uint64_t len) const noexcept;

  template <typename T>
  std::optional<T> read_obj(uint64_t gpa) const noexcept {
    static_assert(std::is_trivially_copyable_v<T>);
    T v;
    if (!read(gpa, std::span(reinterpret_cast<uint8_t*>(&v), sizeof v))) return std::nullopt;
    return v;
  }
  template <typename T>
  bool write_obj(uint64_t gpa, const T& v) const noexcept {
    static_assert(std::is_trivially_copyable_v<T>);
    return write(gpa, std::span(reinterpret_cast<const uint8_t*>(&v), sizeof v));
  }

 private:
  GuestMemory(UniqueFd fd, Mapping mapping, std::vector<GuestRegion> regions)
      : m_memfd(std::move(fd)), m_mapping(std::move(mapping)), m_regions(std::move(regions)) {}
  /// The region holding gpa, or nullptr.
  const GuestRegion* find(uint64_t gpa) const noexcept;
  template <typename Fn>
  bool for_each_chunk(uint64_t gpa, uint64_t len, Fn&& fn) const noexcept;

  UniqueFd m_memfd;
  Mapping m_mapping;
  std::vector<GuestRegion> m_regions;
};

}  // namespace minivmm
