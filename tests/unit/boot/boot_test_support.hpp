// Test-local helpers for the boot unit tests: guest memory of a given size, a check that a guest
// range is untouched, and tiny writers for synthetic kernels (an ELF64 vmlinux with PT_LOAD and
// optional PVH note, and a bzImage with a boot protocol setup header). They build only what the
// loaders read; they are not general ELF or bzImage tools.
#pragma once

#include <asm/bootparam.h>
#include <doctest/doctest.h>
#include <elf.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "boot/linux_loader.hpp"
#include "vmm/memory/guest_memory.hpp"
#include "vmm/memory/x86_layout.hpp"

namespace minivmm::boot::test {

inline constexpr uint64_t kMiB = 1 << 20;

inline GuestMemory make_memory(uint64_t bytes = 64 * kMiB) {
  auto mem = GuestMemory::create(x86::ram_regions(bytes));
  REQUIRE(mem.has_value());
  return std::move(*mem);
}

/// True when every byte of [gpa, gpa+len) is zero.
inline bool all_zero(const GuestMemory& mem, uint64_t gpa, uint64_t len) {
  auto s = mem.slice(gpa, len);
  REQUIRE(s.has_value());
  return std::all_of(s->begin(), s->end(), [](uint8_t b) { return b == 0; });
}

/// True when the low 64 MiB (or all of the first region if smaller) are still zero.
inline bool untouched(const GuestMemory& mem) {
  return all_zero(mem, 0, std::min<uint64_t>(mem.regions().front().size, 64 * kMiB));
}

template <typename T>
T read_guest(const GuestMemory& mem, uint64_t gpa) {
  auto v = mem.read_obj<T>(gpa);
  REQUIRE(v.has_value());
  return *v;
}

/// A copy of a (possibly packed) field, so doctest can bind it to a reference.
template <typename T>
T val(T v) {
  return v;
}

inline std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7);
  return v;
}

template <typename T>
void poke(std::vector<uint8_t>& file, size_t off, const T& v) {
  REQUIRE(off + sizeof v <= file.size());
  std::memcpy(file.data() + off, &v, sizeof v);
}

/// A minimal ELF64 x86_64 executable: header, program headers, one optional PT_NOTE (a "Xen"
/// PVH entry note), then the PT_LOAD segment data.
struct ElfBuilder {
  struct Seg {
    uint64_t paddr;
    std::vector<uint8_t> data;
    uint64_t memsz;
  };
  std::vector<Seg> segs{{16 * kMiB, pattern(0x3000, 1), 0x5000}};
  uint64_t entry = 16 * kMiB + 0x100;
  std::optional<uint64_t> pvh_entry;
  uint32_t pvh_descsz = 4;

  static constexpr size_t phoff() { return sizeof(Elf64_Ehdr); }
  size_t phnum() const { return segs.size() + (pvh_entry ? 1 : 0); }

  std::vector<uint8_t> note() const {
    std::vector<uint8_t> n;
    if (!pvh_entry) return n;
    Elf64_Nhdr nh{4, pvh_descsz, 18};
    n.resize(sizeof nh + 4 + ((pvh_descsz + 3u) & ~3u));
    std::memcpy(n.data(), &nh, sizeof nh);
    std::memcpy(n.data() + sizeof nh, "Xen", 4);
    std::memcpy(n.data() + sizeof nh + 4, &*pvh_entry, std::min<size_t>(pvh_descsz, 8));
    return n;
  }

  std::vector<uint8_t> build() const {
    Elf64_Ehdr eh{};
    std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_EXEC;
    eh.e_machine = EM_X86_64;
    eh.e_version = EV_CURRENT;
    eh.e_entry = entry;
    eh.e_phoff = phoff();
    eh.e_ehsize = sizeof eh;
    eh.e_phentsize = sizeof(Elf64_Phdr);
    eh.e_phnum = static_cast<uint16_t>(phnum());
    std::vector<uint8_t> file(phoff() + phnum() * sizeof(Elf64_Phdr));
    std::memcpy(file.data(), &eh, sizeof eh);
    std::vector<Elf64_Phdr> phs;
    auto n = note();
    if (pvh_entry) {
      phs.push_back({PT_NOTE, PF_R, file.size(), 0, 0, n.size(), n.size(), 4});
      file.insert(file.end(), n.begin(), n.end());
    }
    for (const auto& s : segs) {
      phs.push_back({PT_LOAD, PF_R | PF_X, file.size(), s.paddr + 0xffffffff80000000ull, s.paddr,
                     s.data.size(), s.memsz, 0x1000});
      file.insert(file.end(), s.data.begin(), s.data.end());
    }
    std::memcpy(file.data() + phoff(), phs.data(), phs.size() * sizeof(Elf64_Phdr));
    return file;
  }
};

/// Offset of program header i's field in a file built by ElfBuilder.
inline size_t phdr_field(size_t i, size_t field_offset) {
  return ElfBuilder::phoff() + i * sizeof(Elf64_Phdr) + field_offset;
}

/// A minimal bzImage: boot sector with the setup header at 0x1f1, setup sectors, then the
/// protected-mode kernel ("payload").
struct BzImageBuilder {
  uint8_t setup_sects = 4;
  uint16_t version = 0x020f;
  uint16_t xloadflags = XLF_KERNEL_64;
  uint8_t relocatable = 1;
  uint32_t kernel_alignment = 0x200000;
  uint64_t pref_address = 0x1000000;
  uint32_t init_size = 0x400000;
  uint32_t cmdline_size = 255;
  uint32_t initrd_addr_max = 0x7fffffff;
  std::vector<uint8_t> payload = pattern(0x4000, 3);

  setup_header header() const {
    setup_header h{};
    h.setup_sects = setup_sects;
    h.boot_flag = 0xaa55;
    h.jump = 0x66eb;
    h.header = 0x53726448;
    h.version = version;
    h.kernel_version = 0x1234;
    h.loadflags = LOADED_HIGH;
    h.initrd_addr_max = initrd_addr_max;
    h.kernel_alignment = kernel_alignment;
    h.relocatable_kernel = relocatable;
    h.xloadflags = xloadflags;
    h.cmdline_size = cmdline_size;
    h.pref_address = pref_address;
    h.init_size = init_size;
    return h;
  }

  std::vector<uint8_t> build() const {
    size_t sects = setup_sects == 0 ? 4 : setup_sects;
    std::vector<uint8_t> file((sects + 1) * 512, 0);
    auto h = header();
    std::memcpy(file.data() + 0x1f1, &h, sizeof h);
    file.insert(file.end(), payload.begin(), payload.end());
    return file;
  }
};

inline LinuxBootConfig config(const std::vector<uint8_t>& kernel,
                              std::string cmdline = "console=ttyS0",
                              const std::vector<uint8_t>* initrd = nullptr, uint32_t vcpus = 1) {
  LinuxBootConfig cfg;
  cfg.kernel = kernel;
  if (initrd != nullptr) cfg.initrd = *initrd;
  cfg.cmdline = std::move(cmdline);
  cfg.vcpus = vcpus;
  return cfg;
}

/// Loads and asserts failure with code; checks guest memory stayed untouched.
inline void expect_refused(const GuestMemory& mem, const LinuxBootConfig& cfg, ErrorCode code,
                           const std::string& needle) {
  auto r = load_linux(mem, cfg);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == make_error_code(code));
  INFO("message: ", r.error().context());
  CHECK(r.error().context().find(needle) != std::string::npos);
  CHECK(untouched(mem));
}

}  // namespace minivmm::boot::test
