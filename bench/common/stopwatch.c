// stopwatch: times one child process from outside, for the startup benchmarks (bench/startup).
// Static C, no dependencies: build with `gcc -static -O2 -o stopwatch stopwatch.c`.
//
//   stopwatch [--marker STRING] [--stdout-first] [--mem-after-marker MS --guest-ram-mib N]
//             [--kill-after-marker] [--timeout S] [--copy-stdout FILE] [--copy-stderr FILE]
//             [--save-smaps FILE] [--verbose] -- CMD ARGS...
//
// t0 = CLOCK_MONOTONIC right before fork(); the child gets MINIVMM_SPAWN_TIME_NS=<t0 in ns> (the
// "exec" reference of minivmm) and runs CMD with stdout and stderr on two pipes, read with poll.
// Prints ONE line on stdout (times in ms since t0, -1 when missing):
//   first_output_ms=X marker_ms=Y exit_ms=Z exit_code=C cpu_ms=U maxrss_kib=R rss_kib=..
//   pss_kib=.. private_kib=.. guest_rss_kib=..
// first_output = first byte on the child's stdout; marker = STRING seen on stdout or stderr
// (stdout only with --stdout-first); exit = waitpid; cpu/maxrss from wait4's rusage. With
// --mem-after-marker, MS ms after the marker /proc/PID/smaps is summed (Rss, Pss, Private_Clean +
// Private_Dirty): the guest-RAM mapping (named "minivmm-guest-ram", else the largest writable
// mapping of at least N MiB) is reported as guest_rss_kib and subtracted from the others. Two more
// fields follow the documented ones: private_dirty_kib (Private_Dirty alone) and anon_kib
// (Anonymous), both minus the guest mapping; --save-smaps FILE keeps the sampled smaps text.
// --kill-after-marker sends SIGTERM after the marker (and the sample), SIGKILL 2 s later.
// --timeout S kills the child (SIGKILL) after S seconds and reports exit_code=-1. exit_code is
// the exit status, or 128+N when killed by signal N. --copy-stdout / --copy-stderr save the
// child's stdout / stderr to FILE; --verbose copies both streams to stopwatch's stderr. stopwatch
// exits 0 unless its own arguments or setup fail (2/1); the child's status is only reported.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void usage(void) {
  fprintf(stderr,
          "usage: stopwatch [--marker STRING] [--stdout-first] [--mem-after-marker MS "
          "--guest-ram-mib N] [--kill-after-marker] [--timeout S] [--copy-stdout FILE] "
          "[--copy-stderr FILE] [--save-smaps FILE] [--verbose] -- CMD ARGS...\n");
  exit(2);
}

static double parse_num(const char* s, const char* what) {
  char* end = NULL;
  double v = strtod(s, &end);
  if (end == s || *end != '\0' || v < 0) {
    fprintf(stderr, "stopwatch: bad %s: %s\n", what, s);
    exit(2);
  }
  return v;
}

// Memory figures in KiB: the totals minus the guest-RAM mapping, and that mapping's own.
enum { M_RSS, M_PSS, M_PRIV, M_DIRTY, M_ANON, M_N };
struct mem {
  long vmm[M_N], guest[M_N];
};

// Sums /proc/PID/smaps (and copies it to `save` if not NULL); 0 on success.
static int sample_memory(pid_t pid, double guest_mib, struct mem* out, FILE* save) {
  static const struct {
    const char* key;
    int slot;
  } fields[] = {{"Rss:", M_RSS},
                {"Pss:", M_PSS},
                {"Private_Clean:", M_PRIV},
                {"Private_Dirty:", M_PRIV},
                {"Private_Dirty:", M_DIRTY},
                {"Anonymous:", M_ANON}};
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/smaps", (int)pid);
  FILE* f = fopen(path, "r");
  if (f == NULL) return -1;
  long total[M_N] = {0}, cur[M_N] = {0}, named[M_N] = {0}, largest[M_N] = {0};
  int have_named = 0, cur_named = 0, in_map = 0;
  unsigned long long cur_size = 0, largest_size = 0;
  char line[4096];
  for (;;) {
    char* got = fgets(line, sizeof line, f);
    if (got != NULL && save != NULL) fputs(line, save);
    unsigned long long lo, hi;
    if (got == NULL || sscanf(line, "%llx-%llx ", &lo, &hi) == 2) {
      if (in_map && cur_named) {  // close the previous mapping
        for (int k = 0; k < M_N; k++) named[k] += cur[k];
        have_named = 1;
      } else if (in_map && guest_mib > 0 && (double)cur_size >= guest_mib * 1048576.0 &&
                 cur_size > largest_size) {
        largest_size = cur_size;
        memcpy(largest, cur, sizeof cur);
      }
      if (got == NULL) break;
      in_map = 1;
      // only writable mappings can be guest RAM (skips reserved PROT_NONE ranges)
      const char* perms = strchr(line, ' ');
      cur_size = perms != NULL && perms[2] == 'w' ? hi - lo : 0;
      cur_named = strstr(line, "minivmm-guest-ram") != NULL;
      memset(cur, 0, sizeof cur);
      continue;
    }
    for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++) {
      size_t n = strlen(fields[k].key);
      if (strncmp(line, fields[k].key, n) != 0) continue;
      long v = strtol(line + n, NULL, 10);
      total[fields[k].slot] += v, cur[fields[k].slot] += v;
    }
  }
  fclose(f);
  if (total[M_RSS] == 0) return -1;  // the process is gone (a zombie has no mappings)
  const long* g = have_named ? named : largest;
  for (int k = 0; k < M_N; k++) out->guest[k] = g[k], out->vmm[k] = total[k] - g[k];
  return 0;
}

// Looks for `marker` in `buf` (at most 4096 bytes), including a match that straddles the previous
// chunk (its last mlen-1 bytes are kept in `tail`). Returns 1 when found.
static int scan(const char* marker, size_t mlen, char* tail, size_t* tail_len, const char* buf,
                size_t n) {
  char joined[1024 + 4096];
  memcpy(joined, tail, *tail_len);
  memcpy(joined + *tail_len, buf, n);
  size_t total = *tail_len + n;
  if (memmem(joined, total, marker, mlen) != NULL) return 1;
  size_t keep = mlen - 1 < total ? mlen - 1 : total;
  memcpy(tail, joined + total - keep, keep);
  *tail_len = keep;
  return 0;
}

static void print_ms(const char* name, int64_t t, int64_t t0) {
  if (t < 0)
    printf("%s=-1", name);
  else
    printf("%s=%.3f", name, (double)(t - t0) / 1e6);
}

int main(int argc, char** argv) {
  const char* marker = NULL;
  const char* copy_path[2] = {NULL, NULL};
  const char* smaps_path = NULL;
  int stdout_only = 0, kill_after = 0, verbose = 0;
  double mem_after_ms = -1, guest_mib = 0, timeout_s = 0;
  int i = 1;
  for (; i < argc; i++) {
    const char* a = argv[i];
    int has_val = i + 1 < argc;
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    } else if (strcmp(a, "--marker") == 0 && has_val) {
      marker = argv[++i];
    } else if (strcmp(a, "--stdout-first") == 0) {
      stdout_only = 1;
    } else if (strcmp(a, "--mem-after-marker") == 0 && has_val) {
      mem_after_ms = parse_num(argv[++i], "--mem-after-marker");
    } else if (strcmp(a, "--guest-ram-mib") == 0 && has_val) {
      guest_mib = parse_num(argv[++i], "--guest-ram-mib");
    } else if (strcmp(a, "--kill-after-marker") == 0) {
      kill_after = 1;
    } else if (strcmp(a, "--timeout") == 0 && has_val) {
      timeout_s = parse_num(argv[++i], "--timeout");
    } else if (strcmp(a, "--copy-stdout") == 0 && has_val) {
      copy_path[0] = argv[++i];
    } else if (strcmp(a, "--save-smaps") == 0 && has_val) {
      smaps_path = argv[++i];
    } else if (strcmp(a, "--copy-stderr") == 0 && has_val) {
      copy_path[1] = argv[++i];
    } else if (strcmp(a, "--verbose") == 0) {
      verbose = 1;
    } else {
      usage();
    }
  }
  if (i >= argc) usage();
  if ((mem_after_ms >= 0 || kill_after) && marker == NULL) {
    fprintf(stderr, "stopwatch: --mem-after-marker and --kill-after-marker need --marker\n");
    return 2;
  }
  size_t mlen = marker ? strlen(marker) : 0;
  if (marker != NULL && (mlen == 0 || mlen > 1024)) {
    fprintf(stderr, "stopwatch: the marker must be 1 to 1024 bytes\n");
    return 2;
  }
  FILE* copy[2] = {NULL, NULL};
  for (int k = 0; k < 2; k++) {
    if (copy_path[k] != NULL && (copy[k] = fopen(copy_path[k], "we")) == NULL) {
      fprintf(stderr, "stopwatch: cannot open %s: %s\n", copy_path[k], strerror(errno));
      return 1;
    }
  }
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    perror("stopwatch: pipe");
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  pid_t parent = getpid();

  int64_t t0 = now_ns();
  pid_t pid = fork();
  if (pid < 0) {
    perror("stopwatch: fork");
    return 1;
  }
  if (pid == 0) {
    char val[32];
    snprintf(val, sizeof val, "%lld", (long long)t0);
    setenv("MINIVMM_SPAWN_TIME_NS", val, 1);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    signal(SIGPIPE, SIG_DFL);
    execvp(argv[i], argv + i);
    fprintf(stderr, "stopwatch: cannot exec %s: %s\n", argv[i], strerror(errno));
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);  // -1 on old kernels: poll waitpid instead

  int64_t t_first = -1, t_marker = -1, t_exit = -1;
  int64_t t_sample = -1, t_term = -1, t_kill = -1;  // pending deadlines, -1 = none
  int64_t t_timeout = timeout_s > 0 ? t0 + (int64_t)(timeout_s * 1e9) : -1;
  int sampled = 0, timed_out = 0, status = 0;
  struct mem mem;
  struct rusage ru;
  memset(&ru, 0, sizeof ru);
  char tails[2][1024];
  size_t tail_len[2] = {0, 0};
  int fds_open[2] = {1, 1};
  int fds[2] = {out_pipe[0], err_pipe[0]};
  int exited = 0;
  int64_t drain_until = -1;  // after exit: read what is left for at most 200 ms

  while (!exited || ((fds_open[0] || fds_open[1]) && now_ns() < drain_until)) {
    struct pollfd pf[3];
    int map[3], n = 0;
    for (int k = 0; k < 2; k++)
      if (fds_open[k]) pf[n].fd = fds[k], pf[n].events = POLLIN, map[n++] = k;
    int pid_slot = -1;
    if (!exited && pidfd >= 0) pf[n].fd = pidfd, pf[n].events = POLLIN, pid_slot = n++;
    int64_t now = now_ns(), next = -1;
    int64_t cands[5] = {t_sample, t_term, t_kill, t_timeout, exited ? drain_until : -1};
    for (int k = 0; k < 5; k++)
      if (cands[k] >= 0 && (next < 0 || cands[k] < next)) next = cands[k];
    int wait_ms = next < 0 ? -1 : (int)((next - now + 999999) / 1000000);
    if (wait_ms < 0 && next >= 0) wait_ms = 0;
    if (pidfd < 0 && !exited && (wait_ms < 0 || wait_ms > 1)) wait_ms = 1;
    int r = poll(pf, (nfds_t)n, wait_ms);
    now = now_ns();
    if (r < 0 && errno != EINTR) {
      perror("stopwatch: poll");
      break;
    }
    for (int s = 0; r > 0 && s < n; s++) {
      if (s == pid_slot || pf[s].revents == 0) continue;
      int k = map[s];
      char buf[4096];
      ssize_t got = read(fds[k], buf, sizeof buf);
      if (got <= 0) {
        if (got < 0 && errno == EINTR) continue;
        fds_open[k] = 0;
        close(fds[k]);
        continue;
      }
      if (k == 0 && t_first < 0) t_first = now;
      if (copy[k]) fwrite(buf, 1, (size_t)got, copy[k]);
      if (verbose) {
        ssize_t w = write(2, buf, (size_t)got);
        (void)w;
      }
      if (marker && t_marker < 0 && (k == 0 || !stdout_only) &&
          scan(marker, mlen, tails[k], &tail_len[k], buf, (size_t)got)) {
        t_marker = now;
        if (mem_after_ms >= 0)
          t_sample = now + (int64_t)(mem_after_ms * 1e6);
        else if (kill_after)
          t_term = now;
      }
    }
    if (!exited) {
      int ready = pidfd < 0 || (pid_slot >= 0 && (pf[pid_slot].revents & POLLIN));
      if (ready && wait4(pid, &status, WNOHANG, &ru) == pid) {
        exited = 1;
        t_exit = now;
        drain_until = now + 200000000;
        t_sample = t_term = t_kill = t_timeout = -1;
      }
    }
    if (exited) continue;
    if (t_sample >= 0 && now >= t_sample) {
      t_sample = -1;
      FILE* save = smaps_path ? fopen(smaps_path, "we") : NULL;
      sampled = sample_memory(pid, guest_mib, &mem, save) == 0;
      if (save) fclose(save);
      if (kill_after) t_term = now;
    }
    if (t_term >= 0 && now >= t_term) {
      t_term = -1;
      kill(pid, SIGTERM);
      t_kill = now + 2000000000;
    }
    if (t_kill >= 0 && now >= t_kill) {
      t_kill = -1;
      kill(pid, SIGKILL);
    }
    if (t_timeout >= 0 && now >= t_timeout) {
      t_timeout = -1;
      timed_out = 1;
      kill(pid, SIGKILL);
    }
  }
  if (!exited) {  // poll failed: still reap the child
    kill(pid, SIGKILL);
    wait4(pid, &status, 0, &ru);
    t_exit = now_ns();
  }
  for (int k = 0; k < 2; k++)
    if (copy[k]) fclose(copy[k]);

  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (timed_out) code = -1;
  long cpu_us = ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec +
                ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec;
  print_ms("first_output_ms", t_first, t0);
  print_ms(" marker_ms", t_marker, t0);
  print_ms(" exit_ms", t_exit, t0);
  printf(" exit_code=%d cpu_ms=%.3f maxrss_kib=%ld", code, (double)cpu_us / 1e3, ru.ru_maxrss);
  if (!sampled)
    for (int k = 0; k < M_N; k++) mem.vmm[k] = mem.guest[k] = -1;
  printf(
      " rss_kib=%ld pss_kib=%ld private_kib=%ld guest_rss_kib=%ld private_dirty_kib=%ld "
      "anon_kib=%ld\n",
      mem.vmm[M_RSS], mem.vmm[M_PSS], mem.vmm[M_PRIV], mem.guest[M_RSS], mem.vmm[M_DIRTY],
      mem.vmm[M_ANON]);
  return 0;
}
