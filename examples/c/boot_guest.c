/* boot_guest: boots one Linux guest through minivmm's C API (minivmm.h only, C99), the way a C
 * front end embeds minivmm. It prints the library's capabilities, builds a configuration with
 * the setters, sends the guest console to stdout through a callback, logs state changes and
 * device errors on stderr, waits for the guest to end and prints why. Exit code: 0 when the
 * guest rebooted or powered off, 1 for any other exit reason, 2 for a usage or API error.
 *
 *   boot_guest --kernel K [--initrd I] [--cmdline S] [--memory MIB] [--vcpus N] [--rootfs IMG] */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <minivmm/minivmm.h>

struct options {
  const char *kernel, *initrd, *cmdline, *rootfs;
  uint64_t memory_mib;
  uint32_t vcpus;
};

static void usage(FILE* out) {
  fprintf(out,
          "usage: boot_guest --kernel K [--initrd I] [--cmdline S] [--memory MIB] [--vcpus N]\n"
          "                  [--rootfs IMG]\n");
}

/* A decimal number in 1..max, or 0 when `s` is not one. */
static uint64_t parse_count(const char* s, uint64_t max) {
  char* end = NULL;
  unsigned long long v;
  if (s[0] < '0' || s[0] > '9') return 0;
  errno = 0;
  v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || v > max) return 0;
  return (uint64_t)v;
}

static int parse_options(int argc, char** argv, struct options* o) {
  int i;
  memset(o, 0, sizeof *o);
  for (i = 1; i < argc; ++i) {
    const char *flag = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(flag, "--help") == 0) {
      usage(stdout);
      exit(0);
    }
    if (value == NULL) {
      fprintf(stderr, "boot_guest: %s needs a value\n", flag);
      return -1;
    }
    ++i;
    if (strcmp(flag, "--kernel") == 0) {
      o->kernel = value;
    } else if (strcmp(flag, "--initrd") == 0) {
      o->initrd = value;
    } else if (strcmp(flag, "--cmdline") == 0) {
      o->cmdline = value;
    } else if (strcmp(flag, "--rootfs") == 0) {
      o->rootfs = value;
    } else if (strcmp(flag, "--memory") == 0) {
      if ((o->memory_mib = parse_count(value, UINT64_MAX)) == 0) goto bad_number;
    } else if (strcmp(flag, "--vcpus") == 0) {
      if ((o->vcpus = (uint32_t)parse_count(value, UINT32_MAX)) == 0) goto bad_number;
    } else {
      fprintf(stderr, "boot_guest: unknown option %s\n", flag);
      return -1;
    }
    continue;
  bad_number:
    fprintf(stderr, "boot_guest: %s %s: expected a positive number\n", flag, value);
    return -1;
  }
  if (o->kernel == NULL) {
    fprintf(stderr, "boot_guest: --kernel is required\n");
    return -1;
  }
  return 0;
}

/* Every minivmm call returns 0 or -errno and leaves a message naming what failed. */
static int report(const char* what, int rc) {
  if (rc < 0)
    fprintf(stderr, "boot_guest: %s: %s (%s)\n", what, strerror(-rc), minivmm_last_error());
  return rc;
}

static void print_capabilities(void) {
  uint64_t caps = minivmm_capabilities(), bit;
  printf("boot_guest: minivmm %s, capabilities:", minivmm_version());
  for (bit = 1; (bit & MINIVMM_CAP_ALL) != 0; bit <<= 1)
    if (caps & bit) printf(" %s", minivmm_capability_name(bit));
  printf("\n");
  fflush(stdout);
}

/* Called on a vCPU thread with the guest's console bytes. */
static void on_console(void* user, const char* data, size_t len) {
  (void)user;
  fwrite(data, 1, len, stdout);
  fflush(stdout);
}

static void on_state(void* user, int from, int to) {
  (void)user;
  fprintf(stderr, "boot_guest: state %s -> %s\n", minivmm_state_name(from), minivmm_state_name(to));
}

static void on_device_error(void* user, const char* device, const char* message) {
  (void)user;
  fprintf(stderr, "boot_guest: device %s: %s\n", device, message);
}

static int build_config(const struct options* o, minivmm_config** out) {
  minivmm_config* c = NULL;
  int rc = report("minivmm_config_new", minivmm_config_new(&c));
  if (rc < 0) return rc;
  rc = report("kernel", minivmm_config_set_kernel(c, o->kernel));
  if (rc == 0 && o->initrd) rc = report("initrd", minivmm_config_set_initrd(c, o->initrd));
  if (rc == 0 && o->cmdline) rc = report("cmdline", minivmm_config_set_cmdline(c, o->cmdline));
  if (rc == 0 && o->memory_mib)
    rc = report("memory", minivmm_config_set_memory_mib(c, o->memory_mib));
  if (rc == 0 && o->vcpus) rc = report("vcpus", minivmm_config_set_vcpus(c, o->vcpus));
  if (rc == 0 && o->rootfs)
    rc = report("rootfs", minivmm_config_add_disk(c, "root", o->rootfs, MINIVMM_ROOT, NULL));
  if (rc == 0) rc = report("console", minivmm_config_set_console_callback(c, on_console, NULL));
  if (rc == 0) rc = report("state callback", minivmm_config_set_state_callback(c, on_state, NULL));
  if (rc == 0)
    rc = report("device-error callback",
                minivmm_config_set_device_error_callback(c, on_device_error, NULL));
  if (rc < 0) {
    minivmm_config_free(c);
    return rc;
  }
  *out = c;
  return 0;
}

static void print_vcpu_threads(const minivmm_machine* m) {
  pid_t tids[8];
  int n = minivmm_machine_vcpu_thread_ids(m, tids, 8), i;
  if (report("vcpu thread ids", n) < 0) return;
  fprintf(stderr, "boot_guest: %d vCPU thread(s):", n);
  for (i = 0; i < n && i < 8; ++i) fprintf(stderr, " %ld", (long)tids[i]);
  fprintf(stderr, "\n");
}

int main(int argc, char** argv) {
  struct options o;
  minivmm_config* config = NULL;
  minivmm_machine* machine = NULL;
  char *detail = NULL, *metrics = NULL;
  int reason = -1, rc;

  if (parse_options(argc, argv, &o) < 0) {
    usage(stderr);
    return 2;
  }
  print_capabilities();
  if (build_config(&o, &config) < 0) return 2;
  rc = report("create", minivmm_machine_create(config, &machine));
  minivmm_config_free(config); /* the machine keeps its own copy */
  if (rc < 0) return 2;

  rc = report("start", minivmm_machine_start(machine));
  if (rc == 0) {
    print_vcpu_threads(machine);
    rc = report("wait", minivmm_machine_wait(machine, &reason, &detail));
  }
  if (rc == 0) {
    printf("boot_guest: exit reason: %s (%s)\n", minivmm_exit_reason_name(reason), detail);
    if (minivmm_machine_metrics_json(machine, &metrics) == 0)
      fprintf(stderr, "boot_guest: metrics: %s\n", metrics);
  }
  minivmm_free_string(detail);
  minivmm_free_string(metrics);
  minivmm_machine_destroy(machine);
  if (rc < 0) return 2;
  return reason == MINIVMM_EXIT_GUEST_RESET || reason == MINIVMM_EXIT_GUEST_SHUTDOWN ? 0 : 1;
}
