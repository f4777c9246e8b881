// Implementation of the bzImage parser (Linux boot protocol 2.06+, Documentation/x86/boot.rst
// sections "The real-mode kernel header", "Details of header fields", "64-bit boot protocol").
// Header fields are copied out of the file once and validated before any is used as a bound.
#include "boot/bzimage_loader.hpp"

#include <algorithm>

#include "boot/boot_layout.hpp"
#include "boot/image_span.hpp"

namespace minivmm::boot {
namespace {

constexpr uint64_t kSectorSize = 512;
constexpr uint64_t kEntry64Offset = 0x200;  // boot.rst "64-bit boot protocol": startup_64
constexpr uint64_t kMaxKernelAlignment = 0x4000'0000;

Result<setup_header> read_setup_header(std::span<const uint8_t> file) {
  auto hdr = read_at<setup_header>(file, kSetupHeaderOffset);
  if (!hdr)
    return make_error(ErrorCode::invalid_image, "bzImage: truncated setup header ({} bytes)",
                      file.size());
  if (hdr->header != kSetupHeaderMagic)
    return make_error(ErrorCode::invalid_image, "bzImage: no \"HdrS\" setup header magic");
  if (hdr->version < kMinBootProtocol)
    return make_error(ErrorCode::invalid_image,
                      "bzImage: boot protocol {}.{:02} is older than 2.06", hdr->version >> 8,
                      hdr->version & 0xff);
  if ((hdr->xloadflags & XLF_KERNEL_64) == 0)
    return make_error(ErrorCode::invalid_image,
                      "bzImage: kernel has no 64-bit entry (XLF_KERNEL_64 not set)");
  return *hdr;
}

/// Boot protocol "Loading the rest of the kernel": relocatable kernels go at the default address
/// rounded up to kernel_alignment; others at pref_address (2.10+) or the historical 1 MiB.
Result<uint64_t> load_address(const setup_header& hdr) {
  if (hdr.relocatable_kernel == 0)
    return hdr.version >= 0x020a ? hdr.pref_address : uint64_t{0x100000};
  if (!is_power_of_two(hdr.kernel_alignment) || hdr.kernel_alignment > kMaxKernelAlignment)
    return make_error(ErrorCode::invalid_image, "bzImage: kernel_alignment {:#x} is invalid",
                      hdr.kernel_alignment);
  return *checked_align_up(layout::kKernelLoadAddr, hdr.kernel_alignment);
}

}  // namespace

bool is_bzimage(std::span<const uint8_t> file) noexcept {
  auto magic = read_at<uint32_t>(file, 0x202);
  return magic && *magic == kSetupHeaderMagic;
}

Result<KernelImage> parse_bzimage(std::span<const uint8_t> file) {
  MINIVMM_TRY(hdr, read_setup_header(file));
  // boot.rst "setup_sects": 0 means 4. The value is a byte, so the offset cannot overflow.
  uint64_t setup_sects = hdr.setup_sects == 0 ? 4 : hdr.setup_sects;
  uint64_t kernel_off = (setup_sects + 1) * kSectorSize;
  // Image-controlled: setup_sects; kernel_off < file.size() bounds the payload span below.
  if (kernel_off >= file.size())
    return make_error(ErrorCode::invalid_image,
                      "bzImage: setup_sects {} puts the kernel at {:#x}, past the file end {:#x}",
                      setup_sects, kernel_off, file.size());
  auto payload = file.subspan(kernel_off);
  if (payload.size() <= kEntry64Offset)
    return make_error(ErrorCode::invalid_image,
                      "bzImage: protected-mode kernel of {:#x} bytes has no 64-bit entry at 0x200",
                      payload.size());
  MINIVMM_TRY(load, load_address(hdr));
  uint64_t memsz = std::max<uint64_t>(payload.size(), hdr.version >= 0x020a ? hdr.init_size : 0);
  auto end = checked_add(load, memsz);
  if (!end || *end > 0x1'0000'0000)
    return make_error(ErrorCode::invalid_image,
                      "bzImage: kernel at {:#x} size {:#x} does not fit below 4 GiB", load, memsz);
  KernelImage img;
  img.format = KernelFormat::bzimage;
  img.segments.push_back({load, payload, memsz});
  img.entry = load + kEntry64Offset;
  img.start = load;
  img.end = *end;
  img.cmdline_max = uint64_t{hdr.cmdline_size} + 1;  // cmdline_size excludes the NUL
  img.initrd_end_max = uint64_t{hdr.initrd_addr_max} + 1;
  img.setup = hdr;
  return img;
}

}  // namespace minivmm::boot
