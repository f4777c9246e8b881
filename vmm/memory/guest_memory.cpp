// Implementation of GuestMemory: region table validation, memfd creation, and the checked
// accessors. All range arithmetic is done as "len <= end - gpa" so it cannot overflow.
#include "vmm/memory/guest_memory.hpp"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>

namespace minivmm {
namespace {
constexpr uint64_t kPage = 4096;
}

namespace {

// Transparent huge page size on x86-64; aligning the mapping lets THP back it from byte 0.
constexpr size_t kHugePage = 2 * 1024 * 1024;

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41  // Linux 5.17 uapi
#define PR_SET_VMA_ANON_NAME 0
#endif

Result<std::pair<UniqueFd, Mapping>> map_backing(uint64_t total, GuestMemoryBacking backing) {
  if (backing == GuestMemoryBacking::private_anonymous) {
    MINIVMM_TRY(mapping, Mapping::create_aligned_anonymous(total, kHugePage, PROT_READ | PROT_WRITE,
                                                           MAP_PRIVATE | MAP_NORESERVE));
    // Best effort, both: THP may be disabled (then 4 KiB pages, as with the memfd), and naming an
    // anonymous range needs Linux 5.17 with CONFIG_ANON_VMA_NAME (the name only helps people and
    // benchmarks find guest RAM in /proc/PID/smaps). A forked child never needs guest RAM.
    ::madvise(mapping.data(), total, MADV_HUGEPAGE);
    ::madvise(mapping.data(), total, MADV_DONTFORK);
    ::prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, mapping.data(), total, "minivmm-guest-ram");
    return std::pair{UniqueFd(), std::move(mapping)};
  }
  int fd = ::memfd_create("minivmm-guest-ram", MFD_CLOEXEC);
  if (fd < 0) return errno_error("memfd_create guest RAM");
  UniqueFd memfd(fd);
  if (::ftruncate(fd, static_cast<off_t>(total)) != 0)
    return errno_error("ftruncate guest RAM memfd size={:#x}", total);
  MINIVMM_TRY(mapping,
              Mapping::create(total, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0));
  return std::pair{std::move(memfd), std::move(mapping)};
}

}  // namespace

Result<GuestMemory> GuestMemory::create(std::span<const RegionSpec> specs,
                                        GuestMemoryBacking backing) {
  if (specs.empty()) return make_error(ErrorCode::invalid_config, "guest memory: no regions");
  uint64_t total = 0;
  uint64_t prev_end = 0;
  for (size_t i = 0; i < specs.size(); ++i) {
    const auto& s = specs[i];
    if (s.size == 0 || s.gpa % kPage || s.size % kPage)
      return make_error(ErrorCode::invalid_config,
                        "guest memory: region {} gpa={:#x} size={:#x} is empty or not page-aligned",
                        i, s.gpa, s.size);
    if (s.gpa + s.size < s.gpa || (i > 0 && s.gpa < prev_end))
      return make_error(ErrorCode::invalid_config,
                        "guest memory: region {} gpa={:#x} size={:#x} overflows or overlaps", i,
                        s.gpa, s.size);
    if (total + s.size < total)
      return make_error(ErrorCode::invalid_config, "guest memory: total size overflows");
    total += s.size;
    prev_end = s.gpa + s.size;
  }
  MINIVMM_TRY(backed, map_backing(total, backing));
  auto& [memfd, mapping] = backed;
  std::vector<GuestRegion> regions;
  uint64_t offset = 0;
  for (const auto& s : specs) {
    regions.push_back({s.gpa, s.size, mapping.data() + offset, offset});
    offset += s.size;
  }
  return GuestMemory(std::move(memfd), std::move(mapping), std::move(regions));
}

const GuestRegion* GuestMemory::find(uint64_t gpa) const noexcept {
  for (const auto& r : m_regions)
    if (gpa >= r.gpa && gpa - r.gpa < r.size) return &r;
  return nullptr;
}

template <typename Fn>
bool GuestMemory::for_each_chunk(uint64_t gpa, uint64_t len, Fn&& fn) const noexcept {
  if (!contains(gpa, len)) return false;
  uint64_t done = 0;
  while (done < len) {
    const GuestRegion* r = find(gpa + done);
    uint64_t off = gpa + done - r->gpa;
    uint64_t n = std::min(len - done, r->size - off);
    fn(r->host + off, done, n);
    done += n;
  }
  return true;
}

bool GuestMemory::contains(uint64_t gpa, uint64_t len) const noexcept {
  uint64_t cur = gpa;
  uint64_t left = len;
  for (;;) {
    const GuestRegion* r = find(cur);
    if (r == nullptr) {
      // A zero-length range may sit exactly at the end of a region.
      if (left != 0) return false;
      return std::any_of(m_regions.begin(), m_regions.end(),
                         [&](const GuestRegion& x) { return x.end() == cur; });
    }
    uint64_t avail = r->end() - cur;
    if (left <= avail) return true;
    left -= avail;
    cur = r->end();  // continues only if the next region starts exactly here
  }
}

std::optional<std::span<uint8_t>> GuestMemory::slice(uint64_t gpa, uint64_t len) const noexcept {
  const GuestRegion* r = find(gpa);
  if (r == nullptr) return std::nullopt;
  uint64_t off = gpa - r->gpa;
  if (len > r->size - off) return std::nullopt;
  return std::span<uint8_t>(r->host + off, len);
}

bool GuestMemory::read(uint64_t gpa, std::span<uint8_t> out) const noexcept {
  return for_each_chunk(gpa, out.size(), [&](uint8_t* host, uint64_t done, uint64_t n) {
    std::memcpy(out.data() + done, host, n);
  });
}

namespace {

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; older uapi headers lack it
#endif

// A large write into guest RAM nothing has touched yet (the kernel and initrd at boot) would take
// one page fault per 4 KiB page, each a trap that is expensive under virtualization (a PVM host,
// a nested L1). One madvise(MADV_POPULATE_WRITE) allocates the whole range in a single kernel
// entry. Best effort: kernels before 5.14 refuse it (EINVAL) and the copy simply faults as before.
constexpr uint64_t kPopulateThreshold = 256 * 1024;

void populate_for_write(uint8_t* host, uint64_t n) noexcept {
  if (n < kPopulateThreshold) return;
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(host) & ~(page - 1);
  const uintptr_t end = reinterpret_cast<uintptr_t>(host) + n;
  ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE);
}

}  // namespace

bool GuestMemory::write(uint64_t gpa, std::span<const uint8_t> in) const noexcept {
  return for_each_chunk(gpa, in.size(), [&](uint8_t* host, uint64_t done, uint64_t n) {
    populate_for_write(host, n);
    std::memcpy(host, in.data() + done, n);
  });
}

bool GuestMemory::fill_zero(uint64_t gpa, uint64_t len) const noexcept {
  return for_each_chunk(gpa, len, [](uint8_t* host, uint64_t, uint64_t n) {
    populate_for_write(host, n);
    std::memset(host, 0, n);
  });
}

}  // namespace minivmm
