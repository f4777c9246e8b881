/* init_mark: the whole userspace of the boot-latency benchmark's guest (bench/boot/boot_bench.py).
 *
 * Runs as /init (PID 1) of a tiny initramfs that holds only this program, /dev/console and
 * /dev/kmsg. It writes "MINIVMM-INIT\n" to /dev/console (the host-side stopwatch waits for that
 * string on the VMM's stdout), writes 0x41 ("userspace started") to the boot-timer I/O port 0x440
 * (minivmm timestamps it; on QEMU the port is unassigned and the write is ignored), then calls
 * reboot(RB_AUTOBOOT): with `reboot=k` the kernel resets through the i8042, so minivmm exits 0 and
 * QEMU (-no-reboot, -device i8042) exits too. With `bootbench_dmesg=1` on the kernel command line
 * (the kernel hands it to init as an environment variable) it first copies the kernel log
 * (/dev/kmsg) to the console as `KMSG <usec> <text>` lines, after the marker, so the timed part is
 * unchanged. If anything fails init exits, the kernel panics and `panic=-1` reboots at once, so the
 * VMM still ends. Build: gcc -static -Os -Wall -Wextra -Werror.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/reboot.h>
#include <unistd.h>

#define BOOT_TIMER_PORT 0x440
#define INIT_STARTED 0x41

static void say(int fd, const char *s, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w <= 0) return;
    s += w;
    n -= (size_t)w;
  }
}

/* Each /dev/kmsg read returns one record: "prio,seq,usec,flags;text\n" plus " KEY=value" lines. */
static void dump_kmsg(int con) {
  int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
  if (fd < 0) {
    say(con, "KMSG -1 cannot open /dev/kmsg\n", 30);
    return;
  }
  char rec[2048], line[2100];
  for (;;) {
    ssize_t n = read(fd, rec, sizeof(rec) - 1);
    if (n < 0 && errno == EPIPE) continue; /* overwritten records: skip */
    if (n <= 0) break;
    rec[n] = '\0';
    char *text = strchr(rec, ';');
    char *end = text ? strchr(text, '\n') : NULL;
    if (!text || !end) continue;
    *end = '\0';
    /* third comma-separated field = microseconds (no stdio: keeps /init small) */
    char *p = strchr(rec, ',');
    p = p ? strchr(p + 1, ',') : NULL;
    if (!p || p > text) continue;
    size_t len = 0, digits = strspn(p + 1, "0123456789");
    memcpy(line, "KMSG ", 5);
    len = 5;
    memcpy(line + len, p + 1, digits);
    len += digits;
    line[len++] = ' ';
    size_t tl = strlen(text + 1);
    if (tl > sizeof(line) - len - 1) tl = sizeof(line) - len - 1;
    memcpy(line + len, text + 1, tl);
    len += tl;
    line[len++] = '\n';
    say(con, line, len);
  }
  close(fd);
}

int main(void) {
  /* The kernel already opened /dev/console as fds 0-2 when the cpio has it; open it anyway so
   * the marker does not depend on that. */
  int con = open("/dev/console", O_WRONLY | O_NOCTTY);
  if (con < 0) con = 1;
  say(con, "MINIVMM-INIT\n", 13);
  if (ioperm(BOOT_TIMER_PORT, 1, 1) == 0)
    outb(INIT_STARTED, BOOT_TIMER_PORT);
  else
    say(con, "init_mark: ioperm(0x440) failed\n", 32);
  const char *dm = getenv("bootbench_dmesg");
  if (dm && strcmp(dm, "1") == 0) dump_kmsg(con);
  reboot(RB_AUTOBOOT);
  say(con, "init_mark: reboot failed\n", 25);
  return 1;
}
