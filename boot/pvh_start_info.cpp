// Implementation of the PVH start_info page (Xen docs/misc/pvh.pandoc "Initial state": ebx holds
// the physical address of hvm_start_info; xen/include/public/arch-x86/hvm/start_info.h).
#include "boot/pvh_start_info.hpp"

#include <cstring>

#include "boot/boot_layout.hpp"

namespace minivmm::boot {
namespace {

template <typename T>
void put(std::vector<uint8_t>& page, uint64_t gpa, const T& v) {
  std::memcpy(page.data() + (gpa - layout::kPvhStartInfoAddr), &v, sizeof v);
}

}  // namespace

Result<std::vector<uint8_t>> build_pvh_start_info(const PvhInputs& in) {
  constexpr uint64_t kMaxEntries =
      (layout::kPvhPageEnd - layout::kPvhMemmapAddr) / sizeof(HvmMemmapTableEntry);
  if (in.e820.size() > kMaxEntries)
    return make_error(ErrorCode::invalid_config, "PVH start_info: {} memmap entries exceed {}",
                      in.e820.size(), kMaxEntries);
  std::vector<uint8_t> page(layout::kPvhPageEnd - layout::kPvhStartInfoAddr, 0);
  HvmStartInfo si{};
  si.magic = kHvmStartMagic;
  si.version = 1;
  si.cmdline_paddr = in.cmdline_addr;
  si.memmap_paddr = layout::kPvhMemmapAddr;
  si.memmap_entries = static_cast<uint32_t>(in.e820.size());
  if (in.initrd_size != 0) {
    si.nr_modules = 1;
    si.modlist_paddr = layout::kPvhModlistAddr;
    put(page, layout::kPvhModlistAddr, HvmModlistEntry{in.initrd_addr, in.initrd_size, 0, 0});
  }
  put(page, layout::kPvhStartInfoAddr, si);
  for (size_t i = 0; i < in.e820.size(); ++i) {
    HvmMemmapTableEntry e{in.e820[i].addr, in.e820[i].size, static_cast<uint32_t>(in.e820[i].type),
                          0};
    put(page, layout::kPvhMemmapAddr + i * sizeof e, e);
  }
  return page;
}

}  // namespace minivmm::boot
