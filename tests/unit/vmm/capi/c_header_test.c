/* The C half of the C API unit tests: this translation unit is compiled as C99 with
 * -pedantic-errors (examples/c/CMakeLists.txt adds it to unit_vmm), so it proves minivmm.h is a
 * valid C header, and it drives the API the way a C front end does: a config built with setters
 * and callbacks, its JSON, error codes and the last error, names and capabilities.
 * capi_c_test.cpp calls minivmm_capi_c_check() and reports the failing check. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <minivmm/minivmm.h>

/* Called by capi_c_test.cpp; declared for -Wmissing-prototypes. */
int minivmm_capi_c_check(char* why, size_t why_len);

static void on_console(void* user, const char* data, size_t len) {
  (void)user;
  (void)data;
  (void)len;
}

static void on_state(void* user, int from, int to) {
  (void)user;
  (void)from;
  (void)to;
}

#define C_CHECK(cond)                                                         \
  do {                                                                        \
    if (!(cond)) {                                                            \
      snprintf(why, why_len, "line %d: %s (last error: %s)", __LINE__, #cond, \
               minivmm_last_error());                                         \
      minivmm_config_free(config);                                            \
      return 1;                                                               \
    }                                                                         \
  } while (0)

int minivmm_capi_c_check(char* why, size_t why_len) {
  minivmm_config* config = NULL;
  char* json = NULL;
  static const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 1};
  char version[32];
  uint64_t bit;
  int named = 0;

  snprintf(version, sizeof version, "%d.%d.%d", MINIVMM_VERSION_MAJOR, MINIVMM_VERSION_MINOR,
           MINIVMM_VERSION_PATCH);
  C_CHECK(strcmp(version, minivmm_version()) == 0);

  C_CHECK(minivmm_config_new(&config) == 0);
  C_CHECK(config != NULL);
  C_CHECK(minivmm_config_set_vcpus(config, 2) == 0);
  C_CHECK(minivmm_config_set_memory_mib(config, 256) == 0);
  C_CHECK(minivmm_config_set_kernel(config, "/payload/vmlinux") == 0);
  C_CHECK(minivmm_config_set_console_callback(config, on_console, NULL) == 0);
  C_CHECK(minivmm_config_set_state_callback(config, on_state, NULL) == 0);
  C_CHECK(minivmm_config_add_disk(config, "data", "/img", MINIVMM_READ_ONLY, "c-serial") == 0);
  C_CHECK(minivmm_config_add_net(config, "tap0", -1, mac, 9000) == 0);

  C_CHECK(minivmm_config_add_disk(config, NULL, "/img2", 0x80u, NULL) == -EINVAL);
  C_CHECK(strstr(minivmm_last_error(), "disks[1].flags") != NULL);
  C_CHECK(minivmm_config_set_console(config, 42, NULL) == -EINVAL);
  C_CHECK(minivmm_config_set_vcpus(NULL, 1) == -EINVAL);

  C_CHECK(minivmm_config_to_json(config, &json) == 0);
  C_CHECK(json != NULL && strstr(json, "c-serial") != NULL);
  minivmm_free_string(json);

  for (bit = 1; bit != 0 && (bit & MINIVMM_CAP_ALL) != 0; bit <<= 1)
    named += minivmm_capability_name(bit) != NULL;
  C_CHECK(named == 19);
  C_CHECK(strcmp(minivmm_state_name(MINIVMM_STATE_PAUSED), "paused") == 0);
  C_CHECK(strcmp(minivmm_exit_reason_name(MINIVMM_EXIT_GUEST_RESET), "guest_reset") == 0);

  minivmm_config_free(config);
  return 0;
}
