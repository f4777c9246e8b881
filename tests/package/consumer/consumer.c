/* An embedder's C program built outside the minivmm tree against the installed package through
 * minivmm.h alone (compiled as strict C99). Checks what needs no /dev/kvm: version, capability
 * names, the JSON config round trip, error codes with their last-error messages. Prints one
 * line per check and exits 1 if any failed; tests/package/run.sh matches the output. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <minivmm/minivmm.h>

#define STR2(x) #x
#define STR(x) STR2(x)

static int failures;

static void check(int ok, const char* what, const char* detail) {
  printf("%s: %s%s%s\n", ok ? "ok" : "FAILED", what, detail ? ": " : "", detail ? detail : "");
  if (!ok) failures++;
}

static void check_version_and_caps(void) {
  const char* header =
      STR(MINIVMM_VERSION_MAJOR) "." STR(MINIVMM_VERSION_MINOR) "." STR(MINIVMM_VERSION_PATCH);
  uint64_t caps = minivmm_capabilities();
  printf("version %s\n", minivmm_version());
  check(strcmp(minivmm_version(), header) == 0, "library version matches minivmm.h", header);
  check((caps & ~MINIVMM_CAP_ALL) == 0, "only defined capability bits", NULL);
  check(minivmm_capability_name(MINIVMM_CAP_PAUSE_RESUME) != NULL &&
            strcmp(minivmm_capability_name(MINIVMM_CAP_PAUSE_RESUME), "pause_resume") == 0,
        "capability name", minivmm_capability_name(MINIVMM_CAP_PAUSE_RESUME));
  check(minivmm_state_name(MINIVMM_STATE_PAUSED) != NULL &&
            strcmp(minivmm_state_name(MINIVMM_STATE_PAUSED), "paused") == 0,
        "state name", minivmm_state_name(MINIVMM_STATE_PAUSED));
}

static void check_config(void) {
  minivmm_config* config = NULL;
  char* json = NULL;
  int rc = minivmm_config_from_json("{\"vcpus\": \"two\"}", &config);
  check(rc == -EINVAL && strstr(minivmm_last_error(), "vcpus") != NULL,
        "bad JSON rejected naming the key", minivmm_last_error());
  rc = minivmm_config_from_json("{\"vcpus\": 2, \"memory_mib\": 256}", &config);
  check(rc == 0 && config != NULL, "JSON config parsed", rc == 0 ? NULL : minivmm_last_error());
  if (rc != 0) return;
  rc = minivmm_config_to_json(config, &json);
  check(rc == 0 && strstr(json, "memory_mib") != NULL && strstr(json, "256") != NULL,
        "config printed as JSON", NULL);
  minivmm_free_string(json);
  minivmm_machine* machine = NULL;
  rc = minivmm_machine_create(config, &machine); /* no kernel: rejected before /dev/kvm */
  check(rc == -EINVAL && machine == NULL && strstr(minivmm_last_error(), "kernel") != NULL,
        "missing kernel rejected", minivmm_last_error());
  check(minivmm_config_set_kernel(config, NULL) == -EINVAL, "NULL kernel path refused",
        minivmm_last_error());
  minivmm_config_free(config);
}

int main(void) {
  check_version_and_caps();
  check_config();
  printf("minivmm C consumer: %s\n", failures == 0 ? "all checks passed" : "FAILED");
  return failures == 0 ? 0 : 1;
}
