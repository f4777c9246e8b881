// Implementation of the identity page tables (Intel SDM vol. 3A tables 4-15, 4-17, 4-18).
#include "boot/page_tables.hpp"

#include <cstring>

#include "boot/boot_layout.hpp"

namespace minivmm::boot {
namespace {

constexpr uint64_t kEntriesPerTable = 512;
constexpr uint64_t k2MiB = 0x20'0000;
constexpr uint64_t kPdCount = kIdentityMapBytes / (kEntriesPerTable * k2MiB);

void put(std::vector<uint8_t>& out, uint64_t gpa, uint64_t entry) {
  std::memcpy(out.data() + (gpa - layout::kPml4Addr), &entry, sizeof entry);
}

}  // namespace

std::vector<uint8_t> build_identity_page_tables() {
  static_assert(layout::kPdAddr + kPdCount * layout::kPageSize == layout::kPageTablesEnd);
  std::vector<uint8_t> out(layout::kPageTablesEnd - layout::kPml4Addr, 0);
  put(out, layout::kPml4Addr, layout::kPdptAddr | kPtePresent | kPteWritable);
  for (uint64_t pd = 0; pd < kPdCount; ++pd) {
    uint64_t pd_gpa = layout::kPdAddr + pd * layout::kPageSize;
    put(out, layout::kPdptAddr + pd * 8, pd_gpa | kPtePresent | kPteWritable);
    for (uint64_t i = 0; i < kEntriesPerTable; ++i) {
      uint64_t page = (pd * kEntriesPerTable + i) * k2MiB;
      put(out, pd_gpa + i * 8, page | kPtePresent | kPteWritable | kPtePageSize);
    }
  }
  return out;
}

}  // namespace minivmm::boot
