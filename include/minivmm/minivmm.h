/* The C API of minivmm: a C ABI over the C++ API (machine.hpp, config.hpp, metrics.hpp,
 * capabilities.hpp, config_json.hpp) for front ends in C, Go (cgo) and Rust. It uses only C99
 * types, opaque handles and errno-style return codes, and never lets a C++ exception or type
 * cross it. It adds no behaviour of its own: every function forwards to the C++ function of the
 * same name, whose header documents the semantics in full.
 *
 * Return codes. Functions returning int give 0 (or a count, where documented) on success and a
 * negative errno value on failure:
 *
 *   failure                                               code
 *   ----------------------------------------------------  ------------------------------------
 *   a NULL handle or argument, an unknown enum or flag    -EINVAL
 *   configuration rejected (ErrorCode::invalid_config;    -EINVAL
 *     the message names the field: "disks[1].serial: ...")
 *   call not allowed in this state (invalid_state)        -EBUSY
 *   bounded wait expired (timeout)                        -ETIMEDOUT
 *   kernel/initrd image malformed (invalid_image)         -ENOEXEC
 *   host lacks a KVM capability (unsupported)             -ENOTSUP
 *   image does not fit guest memory (guest_layout)        -E2BIG
 *   a system call failed                                  its -errno (-ENOENT, -EACCES, ...)
 *   allocation failure                                    -ENOMEM
 *   any other internal failure                            -EIO
 *
 * Last error. Every failing call records a message naming what failed on the calling thread;
 * minivmm_last_error() returns it. Successful calls leave it unchanged.
 *
 * Strings. `char **out` results are allocated by minivmm, NUL-terminated, owned by the caller and
 * released with minivmm_free_string(). `const char *` results documented as static live forever.
 * `const char *` arguments are copied; the caller keeps them.
 *
 * Threads. A minivmm_config is a plain builder: use it from one thread at a time. A
 * minivmm_machine may be used from any thread, concurrently, except minivmm_machine_destroy().
 * Distinct handles share nothing; several machines may run in one process. Callbacks run on
 * minivmm's threads (vCPU, event loop, or the caller of a state change) with no lock held: they
 * may call the machine's query functions but must not block for long, wait for or destroy the
 * machine. */
#ifndef MINIVMM_MINIVMM_H
#define MINIVMM_MINIVMM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <minivmm/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Version, errors, strings ------------------------------------------------------------ */

#define MINIVMM_VERSION_MAJOR 0
#define MINIVMM_VERSION_MINOR 1
#define MINIVMM_VERSION_PATCH 0

/** "MAJOR.MINOR.PATCH" of the linked library (static string). Thread-safe. */
MINIVMM_API const char* minivmm_version(void);

/** The message of the last failing minivmm call on this thread; "" if none failed yet. Never
 * NULL. The string belongs to minivmm and stays valid until the next failing minivmm call on
 * the same thread or the thread's end. Thread-safe (each thread has its own). */
MINIVMM_API const char* minivmm_last_error(void);

/** Frees a string minivmm returned through a `char **out` argument. NULL is ignored. */
MINIVMM_API void minivmm_free_string(char* s);

/* ---- Capabilities (see capabilities.hpp) ------------------------------------------------- */

#define MINIVMM_CAP_PAUSE_RESUME (UINT64_C(1) << 0)
#define MINIVMM_CAP_GRACEFUL_STOP (UINT64_C(1) << 1)
#define MINIVMM_CAP_MULTIPLE_MACHINES_PER_PROCESS (UINT64_C(1) << 2)
#define MINIVMM_CAP_BOOT_VMLINUX (UINT64_C(1) << 3)
#define MINIVMM_CAP_BOOT_BZIMAGE (UINT64_C(1) << 4)
#define MINIVMM_CAP_BOOT_INITRD (UINT64_C(1) << 5)
#define MINIVMM_CAP_BLOCK_DEVICE (UINT64_C(1) << 6)
#define MINIVMM_CAP_BLOCK_READ_ONLY (UINT64_C(1) << 7)
#define MINIVMM_CAP_BLOCK_BACKING_SWAP (UINT64_C(1) << 8)
#define MINIVMM_CAP_BLOCK_READ_ONLY_UPDATE (UINT64_C(1) << 9)
#define MINIVMM_CAP_NET_TAP (UINT64_C(1) << 10)
#define MINIVMM_CAP_VSOCK_HYBRID (UINT64_C(1) << 11)
#define MINIVMM_CAP_VIRTIO_FS (UINT64_C(1) << 12)
#define MINIVMM_CAP_VIRTIO_FS_MANAGED (UINT64_C(1) << 13)
#define MINIVMM_CAP_DEVICE_HOTPLUG (UINT64_C(1) << 14)
#define MINIVMM_CAP_SNAPSHOT_RESTORE (UINT64_C(1) << 15)
#define MINIVMM_CAP_MEMORY_RESIZE (UINT64_C(1) << 16)
#define MINIVMM_CAP_VCPU_RESIZE (UINT64_C(1) << 17)
#define MINIVMM_CAP_KVM_AVAILABLE (UINT64_C(1) << 18)
/** Every bit this version defines. */
#define MINIVMM_CAP_ALL ((UINT64_C(1) << 19) - 1)

/** The capabilities of this build on this host as MINIVMM_CAP_* bits. Opens /dev/kvm briefly to
 * set MINIVMM_CAP_KVM_AVAILABLE. Never fails (0 bits only if the check itself failed, with
 * minivmm_last_error() set). Thread-safe. */
MINIVMM_API uint64_t minivmm_capabilities(void);

/** The name of one MINIVMM_CAP_* bit ("pause_resume", the C++ field name; static string), or
 * NULL unless `bit` is exactly one defined bit. Thread-safe. */
MINIVMM_API const char* minivmm_capability_name(uint64_t bit);

/* ---- Configuration builder (see config.hpp) ---------------------------------------------- */

/** A MachineConfig under construction. Setters store what they are given; out-of-range values
 * that C++ can represent (0 vCPUs, a 21-byte serial, ...) are rejected by
 * minivmm_machine_create() with -EINVAL and a message naming the field ("vcpus: 0 is outside
 * 1..N"). Values C++ cannot represent (a NULL path, an unknown enum or flag, an MTU above 65535)
 * are rejected by the setter itself, which then changes nothing. Not thread-safe. */
typedef struct minivmm_config minivmm_config;

/** *out = a new config with MachineConfig's defaults (1 vCPU, 128 MiB, console on stdout). */
MINIVMM_API int minivmm_config_new(minivmm_config** out);
/** Frees a config (NULL is ignored). Machines created from it are unaffected. */
MINIVMM_API void minivmm_config_free(minivmm_config* config);

MINIVMM_API int minivmm_config_set_vcpus(minivmm_config* config, uint32_t vcpus);
MINIVMM_API int minivmm_config_set_memory_mib(minivmm_config* config, uint64_t mib);
/** vmlinux (ELF/PVH) or bzImage path. */
MINIVMM_API int minivmm_config_set_kernel(minivmm_config* config, const char* path);
/** NULL or "": no initrd. */
MINIVMM_API int minivmm_config_set_initrd(minivmm_config* config, const char* path);
MINIVMM_API int minivmm_config_set_cmdline(minivmm_config* config, const char* cmdline);

/** Console output (ConsoleConfig::Output). */
enum minivmm_console_output {
  MINIVMM_CONSOLE_NONE = 0,     /**< discarded */
  MINIVMM_CONSOLE_STDIO = 1,    /**< the process's stdout */
  MINIVMM_CONSOLE_FILE = 2,     /**< appended to a file */
  MINIVMM_CONSOLE_CALLBACK = 3, /**< see minivmm_config_set_console_callback() */
};
/** Selects NONE, STDIO or FILE (`path` required for FILE, ignored otherwise). CALLBACK is
 * selected by minivmm_config_set_console_callback(). */
MINIVMM_API int minivmm_config_set_console(minivmm_config* config, int output, const char* path);
/** Guest console bytes, `len` of them, not NUL-terminated; called on a vCPU thread. */
typedef void (*minivmm_console_fn)(void* user, const char* data, size_t len);
/** Console output to `fn` (NULL: -EINVAL). `user` must outlive every machine created. */
MINIVMM_API int minivmm_config_set_console_callback(minivmm_config* config, minivmm_console_fn fn,
                                                    void* user);
/** Nonzero: forward the process's stdin to the guest console. */
MINIVMM_API int minivmm_config_set_console_stdin(minivmm_config* config, int enabled);

/** Flags of disks and shares. */
#define MINIVMM_READ_ONLY 1u
#define MINIVMM_ROOT 2u /**< boot from this device (appends root=... to the cmdline) */

/** Appends a virtio-blk disk (DiskConfig). `id` and `serial` may be NULL (derived defaults);
 * flags: MINIVMM_READ_ONLY, MINIVMM_ROOT. */
MINIVMM_API int minivmm_config_add_disk(minivmm_config* config, const char* id, const char* path,
                                        uint32_t flags, const char* serial);
/** Appends a NIC (NetConfig): the tap `tap_name`, or the open tap fd `tap_fd` when >= 0 (it is
 * duplicated at create; pass NULL as name). `mac`: 6 bytes or NULL (random). `mtu`: 0 for the
 * default 1500, else up to 65535. */
MINIVMM_API int minivmm_config_add_net(minivmm_config* config, const char* tap_name, int tap_fd,
                                       const uint8_t* mac, uint32_t mtu);
/** Adds (or replaces) the hybrid vsock device; `uds_path` NULL removes it. */
MINIVMM_API int minivmm_config_set_vsock(minivmm_config* config, uint64_t guest_cid,
                                         const char* uds_path);
/** Appends a virtio-fs share served by a running vhost-user backend (FsConfig); flags:
 * MINIVMM_ROOT. */
MINIVMM_API int minivmm_config_add_fs(minivmm_config* config, const char* tag,
                                      const char* socket_path, uint32_t flags);
/** Appends a host directory shared through a virtiofsd minivmm starts (ShareConfig); flags:
 * MINIVMM_READ_ONLY, MINIVMM_ROOT; `virtiofsd_path` NULL: the default. */
MINIVMM_API int minivmm_config_add_share(minivmm_config* config, const char* tag, const char* dir,
                                         uint32_t flags, const char* virtiofsd_path);

/** Machine states (MachineState). */
enum minivmm_state {
  MINIVMM_STATE_CREATED = 0,
  MINIVMM_STATE_RUNNING = 1,
  MINIVMM_STATE_PAUSED = 2,
  MINIVMM_STATE_STOPPING = 3,
  MINIVMM_STATE_STOPPED = 4,
};
/** "created", "running", ... (static string), or NULL for an unknown value. */
MINIVMM_API const char* minivmm_state_name(int state);

/** Callbacks (MachineConfig::on_*). `fn` NULL removes the callback. `user` is passed back as is
 * and must outlive every machine created from the config. Strings passed to callbacks are valid
 * only during the call. */
typedef void (*minivmm_state_fn)(void* user, int from, int to);
typedef void (*minivmm_device_error_fn)(void* user, const char* device, const char* message);
typedef void (*minivmm_boot_timer_fn)(void* user, uint8_t value, int64_t since_exec_ns,
                                      int64_t since_create_ns);
MINIVMM_API int minivmm_config_set_state_callback(minivmm_config* config, minivmm_state_fn fn,
                                                  void* user);
MINIVMM_API int minivmm_config_set_device_error_callback(minivmm_config* config,
                                                         minivmm_device_error_fn fn, void* user);
MINIVMM_API int minivmm_config_set_boot_timer_callback(minivmm_config* config,
                                                       minivmm_boot_timer_fn fn, void* user);

/** *out = a new config parsed from a JSON object (schema: include/minivmm/CONFIG.md). Unknown
 * keys and bad values: -EINVAL, last error naming the key path ("disks[1].read_only: ..."). */
MINIVMM_API int minivmm_config_from_json(const char* json, minivmm_config** out);
/** Applies a JSON object on top of `config` (arrays replace whole lists; callbacks stay). On
 * error `config` is unchanged. */
MINIVMM_API int minivmm_config_merge_json(minivmm_config* config, const char* json);
/** *out = the config as JSON (every key); free with minivmm_free_string(). */
MINIVMM_API int minivmm_config_to_json(const minivmm_config* config, char** out);

/* ---- Machine lifecycle (see machine.hpp) ------------------------------------------------- */

typedef struct minivmm_machine minivmm_machine;

/** Why a machine stopped (ExitReason). */
enum minivmm_exit_reason {
  MINIVMM_EXIT_GUEST_RESET = 0,
  MINIVMM_EXIT_GUEST_SHUTDOWN = 1,
  MINIVMM_EXIT_TRIPLE_FAULT = 2,
  MINIVMM_EXIT_INTERNAL_ERROR = 3,
  MINIVMM_EXIT_STOPPED_BY_HOST = 4,
  MINIVMM_EXIT_GRACEFUL_STOP_TIMEOUT = 5,
};
/** "guest_reset", ... (static string), or NULL for an unknown value. */
MINIVMM_API const char* minivmm_exit_reason_name(int reason);

/** Validates `config` (copied: it may be freed or changed afterwards), opens /dev/kvm and builds
 * the machine in state created; no guest code runs. *out is set only on success. */
MINIVMM_API int minivmm_machine_create(const minivmm_config* config, minivmm_machine** out);
/** Stops the machine hard if needed, joins its threads and frees it (NULL is ignored). Not
 * concurrently with any other call on the machine, and never from one of its callbacks. */
MINIVMM_API void minivmm_machine_destroy(minivmm_machine* machine);

/** The current enum minivmm_state (>= 0), or -EINVAL for a NULL machine. */
MINIVMM_API int minivmm_machine_state(const minivmm_machine* machine);
/** created -> running. */
MINIVMM_API int minivmm_machine_start(minivmm_machine* machine);
/** running -> paused; returns when every vCPU is parked. */
MINIVMM_API int minivmm_machine_pause(minivmm_machine* machine);
/** paused -> running. */
MINIVMM_API int minivmm_machine_resume(minivmm_machine* machine);
/** Asks the guest to shut down (Ctrl-Alt-Del); stops it hard `deadline_ms` later. Returns at once.
 * Running only; -EBUSY otherwise or while a request is pending. */
MINIVMM_API int minivmm_machine_request_graceful_stop(minivmm_machine* machine,
                                                      uint32_t deadline_ms);
/** Hard stop; returns at once. Valid in every state, idempotent. Fails only for NULL. */
MINIVMM_API int minivmm_machine_request_stop(minivmm_machine* machine);
/** Blocks until the machine has stopped. `reason` (enum minivmm_exit_reason) and `detail` (free
 * with minivmm_free_string()) may each be NULL. -EBUSY in state created. */
MINIVMM_API int minivmm_machine_wait(minivmm_machine* machine, int* reason, char** detail);
/** As minivmm_machine_wait(), but -ETIMEDOUT after `timeout_ms` (outputs untouched). */
MINIVMM_API int minivmm_machine_wait_timeout(minivmm_machine* machine, uint32_t timeout_ms,
                                             int* reason, char** detail);

/* ---- Running machine: console, threads, devices, observation ------------------------------ */

/** Queues `len` bytes for the guest's console input. Running or paused; -ENOBUFS when the 4 KiB
 * receive buffer cannot take them. */
MINIVMM_API int minivmm_machine_send_console_input(minivmm_machine* machine, const void* data,
                                                   size_t len);
/** Writes up to `capacity` vCPU thread ids (vCPU order; 0 before start) to `ids` and returns the
 * number of vCPUs, which may exceed `capacity` (call again with a larger buffer). `ids` may be
 * NULL when `capacity` is 0. */
MINIVMM_API int minivmm_machine_vcpu_thread_ids(const minivmm_machine* machine, pid_t* ids,
                                                size_t capacity);
/** *out = the hybrid-vsock socket path ("" without a vsock device). */
MINIVMM_API int minivmm_machine_vsock_uds_path(const minivmm_machine* machine, char** out);
/** Replaces disk `id`'s backing file while running or before start. */
MINIVMM_API int minivmm_machine_replace_disk(minivmm_machine* machine, const char* id,
                                             const char* path);
/** Changes disk `id`'s read-only flag; in state created only. */
MINIVMM_API int minivmm_machine_set_disk_read_only(minivmm_machine* machine, const char* id,
                                                   int read_only);
/** *out = the metrics snapshot as JSON (metrics.hpp to_json). */
MINIVMM_API int minivmm_machine_metrics_json(const minivmm_machine* machine, char** out);
/** *out = the boot timing as JSON: {"exec_reference": S, "phases": [{"name": S, "since_exec_ns":
 * N, "since_create_ns": N}], "markers": [{"value": N, "since_exec_ns": N, "since_create_ns": N}]}.
 */
MINIVMM_API int minivmm_machine_boot_timing_json(const minivmm_machine* machine, char** out);

#ifdef __cplusplus
}
#endif

#endif /* MINIVMM_MINIVMM_H */
