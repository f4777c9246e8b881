// Implementation of the zero page (Documentation/x86/zero-page.rst and boot.rst "Details of
// header fields"; the 64-bit boot protocol needs only the header and the e820 table).
#include "boot/zero_page.hpp"

#include <cstring>

#include "boot/bzimage_loader.hpp"

namespace minivmm::boot {
namespace {

setup_header synthesized_header(const ZeroPageInputs& in) {
  setup_header h{};
  h.boot_flag = kBootFlag;
  h.header = kSetupHeaderMagic;
  h.version = kSynthesizedProtocol;
  h.kernel_alignment = kSynthesizedAlignment;
  h.cmdline_size = in.cmdline_size;
  return h;
}

}  // namespace

Result<boot_params> build_zero_page(const ZeroPageInputs& in) {
  if (in.e820.size() > E820_MAX_ENTRIES_ZEROPAGE)
    return make_error(ErrorCode::invalid_config, "zero page: {} e820 entries exceed {}",
                      in.e820.size(), E820_MAX_ENTRIES_ZEROPAGE);
  boot_params bp;
  std::memset(&bp, 0, sizeof bp);
  bp.hdr = in.setup ? *in.setup : synthesized_header(in);
  bp.hdr.type_of_loader = kLoaderTypeUndefined;
  bp.hdr.loadflags = static_cast<uint8_t>(bp.hdr.loadflags | LOADED_HIGH);
  bp.hdr.cmd_line_ptr = in.cmdline_addr;
  bp.hdr.ramdisk_image = in.initrd_addr;
  bp.hdr.ramdisk_size = in.initrd_size;
  bp.e820_entries = static_cast<uint8_t>(in.e820.size());
  for (size_t i = 0; i < in.e820.size(); ++i) {
    bp.e820_table[i].addr = in.e820[i].addr;
    bp.e820_table[i].size = in.e820[i].size;
    bp.e820_table[i].type = static_cast<uint32_t>(in.e820[i].type);
  }
  return bp;
}

}  // namespace minivmm::boot
