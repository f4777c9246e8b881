// minivmm-tiny-guest: writes a tiny guest kernel (an ELF64 built with xbyak, see
// tests/support/tiny_guest.hpp) for the startup benchmarks (bench/startup/startup_bench.py).
// Its first instruction writes 0x41 to the boot-timer port 0x440; then:
//   --then reset  (default) resets through the i8042 (port 0x64 <- 0xfe): minivmm exits 0;
//   --then exit   writes '!' to COM1, writes port 0xf4 (QEMU's isa-debug-exit ends QEMU with
//                 status 67; minivmm ignores the unassigned port), resets through the i8042,
//                 and halts;
//   --then spin   writes '!' to COM1 and halts forever with interrupts off (the vCPU sleeps, so
//                 the VMM's memory can be sampled).
// --pvh adds the Xen PVH entry note, so minivmm's PVH path and QEMU microvm (`-kernel`) enter it
// in 32-bit protected mode; without it minivmm enters it in long mode (64-bit ELF entry). The code
// uses only instructions that encode identically in both modes (objdump -m i386 and -m x86-64).
#include <cstdio>
#include <cstring>
#include <string>

#include "tests/support/tiny_guest.hpp"

namespace {

int usage() {
  std::fprintf(stderr, "usage: minivmm-tiny-guest OUT.elf [--pvh] [--then reset|exit|spin]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  bool pvh = false;
  std::string then = "reset";
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--pvh") {
      pvh = true;
    } else if (a == "--then" && i + 1 < argc) {
      then = argv[++i];
      if (then != "reset" && then != "exit" && then != "spin") return usage();
    } else {
      return usage();
    }
  }
  minivmm::test::TinyGuestCode g;
  g.mov(g.dx, 0x440);  // boot timer: first thing
  g.mov(g.al, 0x41);
  g.out_(g.dx, g.al);
  if (then != "reset") {
    g.mov(g.dx, 0x3f8);  // COM1 data register
    g.mov(g.al, '!');
    g.out_(g.dx, g.al);
  }
  if (then == "exit") g.out_(0xf4, g.al);  // QEMU isa-debug-exit
  if (then != "spin") {
    g.mov(g.al, 0xfe);  // i8042: pulse the reset line
    g.out_(0x64, g.al);
  } else {
    g.cli();
  }
  g.L("halt");
  g.hlt();
  g.jmp("halt");
  g.ready();
  auto elf = pvh ? g.pvh_elf() : g.elf();
  FILE* f = std::fopen(argv[1], "wb");
  if (f == nullptr || std::fwrite(elf.data(), 1, elf.size(), f) != elf.size()) {
    std::fprintf(stderr, "minivmm-tiny-guest: cannot write %s\n", argv[1]);
    if (f != nullptr) std::fclose(f);
    return 1;
  }
  return std::fclose(f) == 0 ? 0 : 1;
}
