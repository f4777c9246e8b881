// blkbench: a tiny O_DIRECT block-device benchmark for the minivmm virtio-blk benchmark guest
// (bench/blk/blk_bench.py). Static, no dependencies beyond libc + pthreads.
//
//   blkbench randread DEV [--seconds T] [--jobs N] [--name NAME]
//       N threads, each pread()s 4 KiB at uniformly random 4 KiB-aligned offsets for T seconds
//       (queue depth N: every thread keeps one request in flight). Prints IOPS.
//   blkbench seqread  DEV [--seconds T] [--jobs N] [--name NAME]
//   blkbench seqwrite DEV [--seconds T] [--jobs N] [--name NAME]
//       1 MiB O_DIRECT blocks, sequential (each thread owns 1/N of the device and wraps around),
//       for T seconds; seqwrite ends with fdatasync() (counted in the elapsed time). Prints MB/s
//       (10^6 bytes per second).
//
// Output, one marker per line on stdout:
//   MINIVMM-BENCH NAME=VALUE            (IOPS or MB/s; NAME defaults to MODE)
//   MINIVMM-BENCH NAME.ops=N NAME.secs=S NAME.busy_pct=P NAME.iowait_pct=W NAME.lat_us=L
// busy/iowait are the guest's /proc/stat CPU shares over the measurement (all CPUs): a guest
// that is ~100% busy is CPU-bound (exits, interrupts, emulation cost); one that is mostly idle or
// in iowait is waiting for the device, i.e. for the VMM's backend.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum mode { RANDREAD, SEQREAD, SEQWRITE };

static enum mode g_mode;
static const char* g_dev;
static double g_seconds = 5;
static int g_jobs = 1;
static uint64_t g_size;
static double g_deadline;
static volatile int g_failed;

struct job {
  pthread_t thread;
  int index;
  uint64_t ops;
  double lat_sum;
  int err;
};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t xorshift(uint64_t* s) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *s = x;
}

static void* run_job(void* arg) {
  struct job* j = arg;
  size_t bs = g_mode == RANDREAD ? 4096 : 1 << 20;
  int fd = open(g_dev, (g_mode == SEQWRITE ? O_WRONLY : O_RDONLY) | O_DIRECT);
  if (fd < 0) {
    j->err = errno;
    g_failed = 1;
    return NULL;
  }
  void* buf;
  if (posix_memalign(&buf, 4096, bs)) {
    j->err = ENOMEM;
    g_failed = 1;
    close(fd);
    return NULL;
  }
  memset(buf, 0xA5 ^ j->index, bs);
  uint64_t seed = 0x9E3779B97F4A7C15ull * (uint64_t)(j->index + 1) ^ (uint64_t)(now() * 1e6);
  uint64_t region = g_size / (uint64_t)g_jobs / bs * bs;  // sequential modes: this job's slice
  uint64_t base = region * (uint64_t)j->index, pos = 0;
  uint64_t blocks = g_size / bs;
  if ((g_mode != RANDREAD && region < bs) || blocks == 0) {
    j->err = EINVAL;
    g_failed = 1;
    close(fd);
    return NULL;
  }
  double t = now();
  while (t < g_deadline && !g_failed) {
    off_t off;
    if (g_mode == RANDREAD) {
      off = (off_t)(xorshift(&seed) % blocks * bs);
    } else {
      off = (off_t)(base + pos);
      pos += bs;
      if (pos + bs > region) pos = 0;
    }
    ssize_t n = g_mode == SEQWRITE ? pwrite(fd, buf, bs, off) : pread(fd, buf, bs, off);
    double t2 = now();
    if (n != (ssize_t)bs) {
      j->err = n < 0 ? errno : EIO;
      g_failed = 1;
      break;
    }
    j->lat_sum += t2 - t;
    j->ops++;
    t = t2;
  }
  if (g_mode == SEQWRITE && !g_failed && fdatasync(fd) != 0) {
    j->err = errno;
    g_failed = 1;
  }
  free(buf);
  close(fd);
  return NULL;
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

static void usage(void) {
  fprintf(stderr,
          "usage: blkbench randread|seqread|seqwrite DEV [--seconds T] [--jobs N] [--name NAME]\n");
  exit(2);
}

int main(int argc, char** argv) {
  if (argc < 3) usage();
  const char* mode = argv[1];
  if (!strcmp(mode, "randread")) g_mode = RANDREAD;
  else if (!strcmp(mode, "seqread")) g_mode = SEQREAD;
  else if (!strcmp(mode, "seqwrite")) g_mode = SEQWRITE;
  else usage();
  g_dev = argv[2];
  const char* name = mode;
  for (int i = 3; i < argc; i++) {
    if (i + 1 >= argc) usage();
    if (!strcmp(argv[i], "--seconds")) g_seconds = atof(argv[++i]);
    else if (!strcmp(argv[i], "--jobs")) g_jobs = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--name")) name = argv[++i];
    else usage();
  }
  if (g_seconds <= 0 || g_jobs < 1 || g_jobs > 256) usage();

  int fd = open(g_dev, O_RDONLY);
  struct stat st;
  if (fd >= 0 && ioctl(fd, BLKGETSIZE64, &g_size) != 0 && fstat(fd, &st) == 0 &&
      S_ISREG(st.st_mode))
    g_size = (uint64_t)st.st_size;  // a plain file (testing on the host)
  if (fd < 0 || g_size == 0) {
    printf("MINIVMM-BENCH %s.error=open-%s:%s\n", name, g_dev, strerror(errno));
    return 1;
  }
  close(fd);

  struct job* jobs = calloc((size_t)g_jobs, sizeof *jobs);
  unsigned long long tot0, idle0, iow0, tot1, idle1, iow1;
  int have_stat = cpu_stat(&tot0, &idle0, &iow0) == 0;
  double t0 = now();
  g_deadline = t0 + g_seconds;
  for (int i = 0; i < g_jobs; i++) {
    jobs[i].index = i;
    if (pthread_create(&jobs[i].thread, NULL, run_job, &jobs[i]) != 0) {
      printf("MINIVMM-BENCH %s.error=pthread_create\n", name);
      return 1;
    }
  }
  uint64_t ops = 0;
  double lat = 0;
  int err = 0;
  for (int i = 0; i < g_jobs; i++) {
    pthread_join(jobs[i].thread, NULL);
    ops += jobs[i].ops;
    lat += jobs[i].lat_sum;
    if (jobs[i].err && !err) err = jobs[i].err;
  }
  double secs = now() - t0;
  have_stat = have_stat && cpu_stat(&tot1, &idle1, &iow1) == 0;
  if (err) {
    printf("MINIVMM-BENCH %s.error=%s\n", name, strerror(err));
    return 1;
  }
  if (g_mode == RANDREAD)
    printf("MINIVMM-BENCH %s=%.0f\n", name, ops / secs);
  else
    printf("MINIVMM-BENCH %s=%.1f\n", name, ops * (double)(1 << 20) / secs / 1e6);
  printf("MINIVMM-BENCH %s.ops=%llu\n", name, (unsigned long long)ops);
  printf("MINIVMM-BENCH %s.secs=%.3f\n", name, secs);
  printf("MINIVMM-BENCH %s.lat_us=%.1f\n", name, ops ? lat / ops * 1e6 : 0);
  if (have_stat && tot1 > tot0) {
    double dt = (double)(tot1 - tot0);
    printf("MINIVMM-BENCH %s.busy_pct=%.0f\n", name,
           100.0 * (dt - (idle1 - idle0) - (iow1 - iow0)) / dt);
    printf("MINIVMM-BENCH %s.iowait_pct=%.0f\n", name, 100.0 * (iow1 - iow0) / dt);
  }
  fflush(stdout);
  return 0;
}
