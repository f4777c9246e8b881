// minivmm-tiny-guest: writes a tiny guest kernel (a 64-bit ELF built with xbyak, see
// tests/support/tiny_guest.hpp) for startup benchmarks. Its first instructions write the boot-timer
// port (value 0x41); then it either resets through the i8042 (`--then reset`, the default) so the
// VMM exits, or spins forever (`--then spin`) so the VMM's memory can be sampled.
#include <cstdio>
#include <cstring>
#include <string>

#include "tests/support/tiny_guest.hpp"

int main(int argc, char** argv) {
  if (argc < 2 || (argc == 4 && std::strcmp(argv[2], "--then") != 0) || argc == 3 || argc > 4) {
    std::fprintf(stderr, "usage: minivmm-tiny-guest OUT.elf [--then reset|spin]\n");
    return 2;
  }
  const bool spin = argc == 4 && std::string(argv[3]) == "spin";
  minivmm::test::TinyGuestCode g;
  g.mov(g.dx, 0x440);
  g.mov(g.al, 0x41);
  g.out_(g.dx, g.al);
  if (!spin) {
    g.mov(g.al, 0xfe);
    g.out_(0x64, g.al);
  }
  g.L("spin");
  g.jmp("spin");
  g.ready();
  auto elf = g.elf();
  FILE* f = std::fopen(argv[1], "wb");
  if (f == nullptr || std::fwrite(elf.data(), 1, elf.size(), f) != elf.size()) {
    std::fprintf(stderr, "minivmm-tiny-guest: cannot write %s\n", argv[1]);
    return 1;
  }
  std::fclose(f);
  return 0;
}
