// Implementation of the kernel/initrd placement checks. All image-derived ranges were already
// checked for overflow by the parsers (gpa + memsz fits 64 bits); the arithmetic here keeps to
// "len <= end - start" forms so nothing can wrap.
#include "boot/placement.hpp"

#include <algorithm>

#include "boot/boot_layout.hpp"
#include "boot/image_span.hpp"

namespace minivmm::boot {
namespace {
constexpr uint64_t k4GiB = 0x1'0000'0000;
}

uint64_t low_ram_end(const GuestMemory& mem) noexcept {
  auto regions = mem.regions();
  return !regions.empty() && regions.front().gpa == 0 ? regions.front().end() : 0;
}

Result<void> check_kernel_placement(const GuestMemory& mem, const KernelImage& img) {
  for (const auto& seg : img.segments) {
    if (seg.gpa < layout::kHighMemStart)
      return make_error(ErrorCode::invalid_image,
                        "kernel segment at {:#x} size {:#x} overlaps the boot structures below "
                        "{:#x}",
                        seg.gpa, seg.memsz, layout::kHighMemStart);
    if (!mem.contains(seg.gpa, seg.memsz)) {
      if (seg.gpa + seg.memsz > mem.end_gpa())
        return make_error(ErrorCode::guest_layout,
                          "kernel segment at {:#x} size {:#x} does not fit in {} MiB of guest "
                          "memory",
                          seg.gpa, seg.memsz, mem.total_size() >> 20);
      return make_error(ErrorCode::invalid_image,
                        "kernel segment at {:#x} size {:#x} is outside guest RAM", seg.gpa,
                        seg.memsz);
    }
  }
  return {};
}

Result<uint64_t> place_initrd(const GuestMemory& mem, const KernelImage& img, uint64_t size) {
  if (size == 0) return uint64_t{0};
  uint64_t limit = std::min({img.initrd_end_max, low_ram_end(mem), k4GiB});
  auto fits_below = [&](uint64_t top) -> std::optional<uint64_t> {
    if (top < layout::kHighMemStart || top - layout::kHighMemStart < size) return std::nullopt;
    uint64_t gpa = align_down(top - size, layout::kPageSize);
    if (gpa < layout::kHighMemStart) return std::nullopt;
    return gpa;
  };
  // Highest first: below the limit, and if that hits the kernel, below the kernel.
  for (uint64_t top : {limit, std::min(limit, img.start)}) {
    auto gpa = fits_below(top);
    if (gpa && !ranges_overlap(*gpa, size, img.start, img.end - img.start)) return *gpa;
  }
  return make_error(ErrorCode::guest_layout,
                    "initrd of {:#x} bytes does not fit in guest RAM below {:#x} beside the kernel "
                    "at [{:#x}, {:#x})",
                    size, limit, img.start, img.end);
}

}  // namespace minivmm::boot
