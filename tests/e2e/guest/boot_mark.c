/* boot_mark: writes one byte to the minivmm boot-timer I/O port (0x440) from inside the L2 guest.
 *
 * Usage: boot_mark [VALUE]   VALUE is decimal or 0x-hex, default 0x41.
 * The VMM timestamps the write, so the harness can measure "guest userspace reached" precisely.
 * Built by build_initramfs.sh with `gcc -static -Os`; needs CONFIG_X86_IOPL_IOPERM in the guest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/io.h>

#define BOOT_MARK_PORT 0x440

int main(int argc, char **argv) {
  unsigned long value = 0x41;
  if (argc > 1) {
    char *end = NULL;
    value = strtoul(argv[1], &end, 0);
    if (end == argv[1] || *end != '\0' || value > 0xff) {
      fprintf(stderr, "boot_mark: bad value '%s' (0..255)\n", argv[1]);
      return 2;
    }
  }
  if (ioperm(BOOT_MARK_PORT, 1, 1) != 0) {
    perror("boot_mark: ioperm(0x440)");
    return 1;
  }
  outb((unsigned char)value, BOOT_MARK_PORT);
  return 0;
}
