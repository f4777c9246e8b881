// Implementation of the e820 map. The low-memory split follows what SeaBIOS and Firecracker
// report (RAM 0..EBDA, reserved EBDA..1 MiB) so Linux finds the MP table in reserved memory and
// never allocates over it.
#include "boot/e820.hpp"

#include <algorithm>

#include "boot/boot_layout.hpp"
#include "boot/image_span.hpp"

namespace minivmm::boot {

Result<std::vector<E820Entry>> build_e820(const GuestMemory& mem,
                                          std::span<const ReservedRange> reserved) {
  auto regions = mem.regions();
  if (regions.empty() || regions.front().gpa != 0 || regions.front().end() <= layout::kHighMemStart)
    return make_error(ErrorCode::guest_layout,
                      "guest RAM must start at 0 and extend past 1 MiB for the boot structures");
  std::vector<E820Entry> map;
  map.push_back({0, layout::kEbdaStart, E820Type::ram});
  map.push_back(
      {layout::kEbdaStart, layout::kHighMemStart - layout::kEbdaStart, E820Type::reserved});
  map.push_back(
      {layout::kHighMemStart, regions.front().end() - layout::kHighMemStart, E820Type::ram});
  for (const auto& r : regions.subspan(1)) map.push_back({r.gpa, r.size, E820Type::ram});
  for (const auto& r : reserved) {
    if (r.size == 0 || !checked_add(r.gpa, r.size))
      return make_error(ErrorCode::invalid_config, "e820: reserved range {:#x}+{:#x} is invalid",
                        r.gpa, r.size);
    for (const auto& g : regions)
      if (ranges_overlap(r.gpa, r.size, g.gpa, g.size))
        return make_error(ErrorCode::invalid_config,
                          "e820: reserved range {:#x}+{:#x} overlaps RAM at {:#x}", r.gpa, r.size,
                          g.gpa);
    map.push_back({r.gpa, r.size, E820Type::reserved});
  }
  std::sort(map.begin(), map.end(),
            [](const E820Entry& a, const E820Entry& b) { return a.addr < b.addr; });
  return map;
}

}  // namespace minivmm::boot
