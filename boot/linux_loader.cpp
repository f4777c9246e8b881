// Implementation of load_linux: the boot flow in two phases. Phase one parses the kernel, checks
// placement, command line, initrd, e820, MP table and protocol structures, and collects every
// guest write into a plan held in host memory. Phase two checks the whole plan against guest RAM
// and only then performs the writes, so malformed input leaves guest memory untouched.
#include "boot/linux_loader.hpp"

#include <optional>

#include "boot/boot_layout.hpp"
#include "boot/bzimage_loader.hpp"
#include "boot/cmdline.hpp"
#include "boot/e820.hpp"
#include "boot/elf_loader.hpp"
#include "boot/entry_setup.hpp"
#include "boot/gdt.hpp"
#include "boot/image_span.hpp"
#include "boot/mp_table.hpp"
#include "boot/page_tables.hpp"
#include "boot/placement.hpp"
#include "boot/pvh_start_info.hpp"
#include "boot/zero_page.hpp"

namespace minivmm::boot {
namespace {

/// One guest write: bytes (owned or borrowed from an input file), then zero_tail zero bytes.
struct PlannedWrite {
  uint64_t gpa = 0;
  std::vector<uint8_t> owned;
  std::span<const uint8_t> borrowed;
  uint64_t zero_tail = 0;
  std::span<const uint8_t> bytes() const { return owned.empty() ? borrowed : owned; }
};

template <typename T>
PlannedWrite object_write(uint64_t gpa, const T& v) {
  auto p = reinterpret_cast<const uint8_t*>(&v);
  return {gpa, std::vector<uint8_t>(p, p + sizeof v), {}, 0};
}

Result<KernelImage> parse_kernel(std::span<const uint8_t> file) {
  if (file.empty()) return make_error(ErrorCode::invalid_image, "kernel image is empty");
  if (is_elf(file)) return parse_elf(file);
  if (is_bzimage(file)) return parse_bzimage(file);
  return make_error(ErrorCode::invalid_image,
                    "kernel image ({} bytes) is neither an ELF vmlinux nor a bzImage", file.size());
}

/// Zero page or PVH start_info, plus the page tables the 64-bit entry needs.
Result<void> plan_protocol(std::vector<PlannedWrite>& plan, const KernelImage& img,
                           uint64_t cmdline_len, uint64_t initrd_addr, uint64_t initrd_size,
                           std::span<const E820Entry> e820) {
  if (img.format == KernelFormat::elf_pvh) {
    MINIVMM_TRY(page, build_pvh_start_info({layout::kCmdlineAddr, initrd_addr, initrd_size, e820}));
    plan.push_back({layout::kPvhStartInfoAddr, std::move(page), {}, 0});
    return {};
  }
  // place_initrd keeps the initrd below 4 GiB, so address and size fit 32 bits.
  MINIVMM_TRY(
      zp, build_zero_page({img.setup, static_cast<uint32_t>(layout::kCmdlineAddr),
                           static_cast<uint32_t>(cmdline_len), static_cast<uint32_t>(initrd_addr),
                           static_cast<uint32_t>(initrd_size), e820}));
  plan.push_back(object_write(layout::kZeroPageAddr, zp));
  plan.push_back({layout::kPml4Addr, build_identity_page_tables(), {}, 0});
  return {};
}

Result<void> execute(const GuestMemory& mem, const std::vector<PlannedWrite>& plan) {
  for (const auto& w : plan) {
    auto len = checked_add(w.bytes().size(), w.zero_tail);
    if (!len || !mem.contains(w.gpa, *len))
      return make_error(ErrorCode::guest_layout, "boot write at {:#x} is outside guest RAM", w.gpa);
  }
  for (const auto& w : plan) {
    bool ok = mem.write(w.gpa, w.bytes()) &&
              (w.zero_tail == 0 || mem.fill_zero(w.gpa + w.bytes().size(), w.zero_tail));
    MINIVMM_ASSERT(ok, "boot write failed after its range was checked");
  }
  return {};
}

}  // namespace

Result<LoadedKernel> load_linux(const GuestMemory& mem, const LinuxBootConfig& cfg) {
  if (cfg.vcpus == 0 || cfg.vcpus > kMaxVcpus)
    return make_error(ErrorCode::invalid_config, "vcpus {} must be between 1 and {}", cfg.vcpus,
                      kMaxVcpus);
  MINIVMM_TRY(img, parse_kernel(cfg.kernel));
  MINIVMM_TRY_VOID(check_kernel_placement(mem, img));
  MINIVMM_TRY(cmdline, encode_cmdline(cfg.cmdline, img.cmdline_max));
  MINIVMM_TRY(initrd_addr, place_initrd(mem, img, cfg.initrd.size()));
  MINIVMM_TRY(e820, build_e820(mem, cfg.reserved));
  MINIVMM_TRY(mp, build_mp_table(cfg.vcpus, layout::kMpTableAddr));

  std::vector<PlannedWrite> plan;
  // Image-controlled: segment spans were bounded by the parsers' in_file() checks, their guest
  // ranges by check_kernel_placement; the initrd range by place_initrd; the cmdline by
  // encode_cmdline. execute() re-checks every range against RAM before the first write.
  for (const auto& seg : img.segments)
    plan.push_back({seg.gpa, {}, seg.data, seg.memsz - seg.data.size()});
  if (!cfg.initrd.empty()) plan.push_back({initrd_addr, {}, cfg.initrd, 0});
  plan.push_back({layout::kCmdlineAddr, cmdline, {}, 0});
  plan.push_back({layout::kMpTableAddr, std::move(mp), {}, 0});
  plan.push_back(
      object_write(layout::kEbdaSegmentPtr, static_cast<uint16_t>(layout::kMpTableAddr >> 4)));
  const EntryMode mode = img.format == KernelFormat::elf_pvh ? EntryMode::pvh32 : EntryMode::long64;
  plan.push_back(object_write(layout::kGdtAddr, build_gdt(mode)));
  MINIVMM_TRY_VOID(
      plan_protocol(plan, img, cmdline.size() - 1, initrd_addr, cfg.initrd.size(), e820));
  MINIVMM_TRY_VOID(execute(mem, plan));

  LoadedKernel out{
      img.format,
      mode == EntryMode::pvh32 ? pvh_entry_state(img.entry) : long64_entry_state(img.entry),
      img.start,
      img.end,
      initrd_addr,
      cfg.initrd.size()};
  return out;
}

}  // namespace minivmm::boot
