// fsbench: the timing helper of the minivmm virtio-fs benchmark guest (bench/fs/fs_bench.py, run by
// bench/fs/guest/fsbench.sh). Static, libc only. Times with clock_gettime(CLOCK_MONOTONIC), so
// phases far shorter than a second are still measured accurately (the shell's `date` has 1 s).
//
//   fsbench seqread FILE NAME [BS]   read(2) FILE from start to EOF in BS-byte blocks (default
//                                    1 MiB: what `dd if=FILE of=/dev/null bs=1M` does). Prints
//                                    NAME=MB/s (10^6 B/s); fails if fewer than st_size bytes came.
//   fsbench create DIR N NAME        N x: open(DIR/fI, O_CREAT|O_EXCL|O_WRONLY), write 100 bytes,
//                                    close.                                  NAME=ops/s
//   fsbench stat DIR N NAME          N x: stat(DIR/fI), checks it is a 100-byte regular file.
//   fsbench unlink DIR N NAME        N x: unlink(DIR/fI).
//   fsbench wait PATH SECONDS        polls stat(PATH) every 10 ms until it exists (rc 0) or the
//                                    time ran out (rc 1). The host's "go" signal (fs_bench.py).
//
// Output, one marker per line on stdout: MINIVMM-BENCH NAME=VALUE, then NAME.ops (reads or files),
// NAME.bytes (seqread), NAME.secs, NAME.busy_pct (the guest's /proc/stat non-idle, non-iowait CPU
// share over the phase, all CPUs) and NAME.iowait_pct. An error prints NAME.error=WHAT and exits 1.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SMALL_FILE_BYTES 100

static const char* g_name = "fsbench";

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

// /proc/stat first line: user nice system idle iowait irq softirq steal ...
static int cpu_stat(unsigned long long* total, unsigned long long* idle,
                    unsigned long long* iowait) {
  FILE* f = fopen("/proc/stat", "r");
  if (!f) return -1;
  unsigned long long v[8] = {0};
  int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                 &v[4], &v[5], &v[6], &v[7]);
  fclose(f);
  if (n < 5) return -1;
  *total = 0;
  for (int i = 0; i < 8; i++) *total += v[i];
  *idle = v[3];
  *iowait = v[4];
  return 0;
}

static void fail(const char* what, const char* path, int err) {
  char msg[128];
  snprintf(msg, sizeof msg, "%s", err ? strerror(err) : "short");
  for (char* c = msg; *c; c++)
    if (*c == ' ') *c = '-';  // no spaces in marker values: the host parses \S*
  printf("MINIVMM-BENCH %s.error=%s:%s:%s\n", g_name, what, path ? path : "-", msg);
  fflush(stdout);
  exit(1);
}

static void usage(void) {
  fprintf(stderr,
          "usage: fsbench seqread FILE NAME [BS] | create|stat|unlink DIR N NAME | "
          "wait PATH SECONDS\n");
  exit(2);
}

static unsigned long long t_tot0, t_idle0, t_iow0;
static int t_have_stat;
static double t_start;

static void phase_begin(void) {
  t_have_stat = cpu_stat(&t_tot0, &t_idle0, &t_iow0) == 0;
  t_start = now();
}

static void phase_end(double value, const char* fmt_value, unsigned long long ops,
                      long long bytes) {
  double secs = now() - t_start;
  unsigned long long tot1, idle1, iow1;
  int have = t_have_stat && cpu_stat(&tot1, &idle1, &iow1) == 0;
  if (value < 0) value = secs > 0 ? ops / secs : 0;
  printf("MINIVMM-BENCH %s=", g_name);
  printf(fmt_value, value);
  printf("\nMINIVMM-BENCH %s.ops=%llu\n", g_name, ops);
  if (bytes >= 0) printf("MINIVMM-BENCH %s.bytes=%lld\n", g_name, bytes);
  printf("MINIVMM-BENCH %s.secs=%.6f\n", g_name, secs);
  if (have && tot1 > t_tot0) {
    double dt = (double)(tot1 - t_tot0);
    printf("MINIVMM-BENCH %s.busy_pct=%.0f\n", g_name,
           100.0 * (dt - (double)(idle1 - t_idle0) - (double)(iow1 - t_iow0)) / dt);
    printf("MINIVMM-BENCH %s.iowait_pct=%.0f\n", g_name, 100.0 * (double)(iow1 - t_iow0) / dt);
  }
  fflush(stdout);
}

static int seqread(const char* file, size_t bs) {
  int fd = open(file, O_RDONLY);
  if (fd < 0) fail("open", file, errno);
  struct stat st;
  if (fstat(fd, &st) != 0) fail("fstat", file, errno);
  char* buf = malloc(bs);
  if (!buf) fail("malloc", NULL, ENOMEM);
  memset(buf, 0, bs);  // fault the buffer in before the clock starts
  long long total = 0;
  unsigned long long reads = 0;
  phase_begin();
  for (;;) {
    ssize_t n = read(fd, buf, bs);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("read", file, errno);
    }
    if (n == 0) break;
    total += n;
    reads++;
  }
  double secs = now() - t_start;
  close(fd);
  if (total != (long long)st.st_size) fail("read-size", file, 0);
  phase_end(secs > 0 ? total / secs / 1e6 : 0, "%.1f", reads, total);
  free(buf);
  return 0;
}

enum meta { CREATE, STAT, UNLINK };

static int meta(enum meta op, const char* dir, long n) {
  char path[4096];
  char data[SMALL_FILE_BYTES];
  memset(data, 'x', sizeof data);
  data[sizeof data - 1] = '\n';
  phase_begin();
  for (long i = 0; i < n; i++) {
    snprintf(path, sizeof path, "%s/f%ld", dir, i);
    if (op == CREATE) {
      int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
      if (fd < 0) fail("create", path, errno);
      ssize_t w = write(fd, data, sizeof data);
      if (w != (ssize_t)sizeof data) fail("write", path, w < 0 ? errno : 0);
      if (close(fd) != 0) fail("close", path, errno);
    } else if (op == STAT) {
      struct stat st;
      if (stat(path, &st) != 0) fail("stat", path, errno);
      if (!S_ISREG(st.st_mode) || st.st_size != SMALL_FILE_BYTES) fail("stat-size", path, 0);
    } else {
      if (unlink(path) != 0) fail("unlink", path, errno);
    }
  }
  phase_end(-1, "%.0f", (unsigned long long)n, -1);
  return 0;
}

static int wait_path(const char* path, double seconds) {
  double end = now() + seconds;
  struct stat st;
  while (stat(path, &st) != 0) {
    if (now() >= end) return 1;
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return 0;
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 2) usage();
  const char* mode = argv[1];
  if (!strcmp(mode, "seqread")) {
    if (argc < 4 || argc > 5) usage();
    g_name = argv[3];
    long bs = argc == 5 ? atol(argv[4]) : 1 << 20;
    if (bs <= 0) usage();
    return seqread(argv[2], (size_t)bs);
  }
  if (!strcmp(mode, "wait")) {
    if (argc != 4) usage();
    return wait_path(argv[2], atof(argv[3]));
  }
  enum meta op;
  if (!strcmp(mode, "create")) op = CREATE;
  else if (!strcmp(mode, "stat")) op = STAT;
  else if (!strcmp(mode, "unlink")) op = UNLINK;
  else usage();
  if (argc != 5) usage();
  g_name = argv[4];
  long n = atol(argv[3]);
  if (n <= 0) usage();
  return meta(op, argv[2], n);
}
