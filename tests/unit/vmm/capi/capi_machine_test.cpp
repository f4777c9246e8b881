// Unit tests of the C machine handle (vmm/capi/capi_machine.cpp) that need no /dev/kvm: every
// machine function refuses a NULL handle or output pointer with -EINVAL, and
// minivmm_machine_create rejects out-of-range setter values with -EINVAL and a last error that
// names the field (Machine::create validates before it opens /dev/kvm), leaving *out unset.
// Lifecycle calls on real machines run in the nested e2e test (examples/c, scenario c-example).
#include <cerrno>
#include <string>

#include <doctest/doctest.h>
#include <minivmm/minivmm.h>

namespace {

std::string last_error() {
  return minivmm_last_error();
}

// A config that passes validation except for what the test then breaks.
struct CreateFixture {
  CreateFixture() {
    REQUIRE(minivmm_config_new(&c) == 0);
    REQUIRE(minivmm_config_set_kernel(c, "/nonexistent/vmlinux") == 0);
    REQUIRE(minivmm_config_set_console(c, MINIVMM_CONSOLE_NONE, nullptr) == 0);
  }
  ~CreateFixture() { minivmm_config_free(c); }

  // Create must fail with -EINVAL naming `field` (at the start of the C++ message).
  void check_refused(const std::string& field) {
    minivmm_machine* m = nullptr;
    CHECK(minivmm_machine_create(c, &m) == -EINVAL);
    CHECK(m == nullptr);
    CHECK_MESSAGE(last_error().find("minivmm_machine_create: " + field + ":") == 0, last_error());
    minivmm_machine_destroy(m);
  }
  minivmm_config* c = nullptr;
};

TEST_CASE_FIXTURE(CreateFixture, "C API: create refuses 0 vCPUs naming vcpus") {
  REQUIRE(minivmm_config_set_vcpus(c, 0) == 0);
  check_refused("vcpus");
}

TEST_CASE_FIXTURE(CreateFixture,
                  "C API: create refuses memory sizes that overflow naming memory_mib") {
  REQUIRE(minivmm_config_set_memory_mib(c, UINT64_MAX) == 0);
  check_refused("memory_mib");
}

TEST_CASE_FIXTURE(CreateFixture, "C API: create refuses a config without a kernel") {
  REQUIRE(minivmm_config_set_kernel(c, "") == 0);
  check_refused("kernel");
}

TEST_CASE_FIXTURE(CreateFixture, "C API: create refuses a console file without a path") {
  REQUIRE(minivmm_config_set_console(c, MINIVMM_CONSOLE_FILE, "") == 0);
  check_refused("console");
}

TEST_CASE_FIXTURE(CreateFixture, "C API: create refuses a 21-byte disk serial naming the disk") {
  REQUIRE(minivmm_config_add_disk(c, nullptr, "/img", 0, "123456789012345678901") == 0);
  check_refused("disks[0].serial");
}

TEST_CASE_FIXTURE(CreateFixture, "C API: create refuses an MTU below 68 naming the NIC") {
  REQUIRE(minivmm_config_add_net(c, "tap0", -1, nullptr, 67) == 0);
  check_refused("nets[0].mtu");
}

TEST_CASE_FIXTURE(CreateFixture, "C API: create refuses a reserved vsock CID") {
  REQUIRE(minivmm_config_set_vsock(c, 2, "/tmp/v.sock") == 0);
  check_refused("vsock.guest_cid");
}

TEST_CASE_FIXTURE(CreateFixture, "C API: create refuses a NULL config or out pointer") {
  minivmm_machine* m = nullptr;
  CHECK(minivmm_machine_create(nullptr, &m) == -EINVAL);
  CHECK(last_error() == "minivmm_machine_create: config is NULL");
  CHECK(minivmm_machine_create(c, nullptr) == -EINVAL);
  CHECK(last_error() == "minivmm_machine_create: out is NULL");
  CHECK(m == nullptr);
}

TEST_CASE("C API: every machine function refuses a NULL machine") {
  int reason = -1;
  char* s = nullptr;
  pid_t ids[2] = {0, 0};
  CHECK(minivmm_machine_state(nullptr) == -EINVAL);
  CHECK(last_error() == "minivmm_machine_state: machine is NULL");
  CHECK(minivmm_machine_start(nullptr) == -EINVAL);
  CHECK(minivmm_machine_pause(nullptr) == -EINVAL);
  CHECK(minivmm_machine_resume(nullptr) == -EINVAL);
  CHECK(minivmm_machine_request_graceful_stop(nullptr, 100) == -EINVAL);
  CHECK(minivmm_machine_request_stop(nullptr) == -EINVAL);
  CHECK(minivmm_machine_wait(nullptr, &reason, &s) == -EINVAL);
  CHECK(minivmm_machine_wait_timeout(nullptr, 1, &reason, &s) == -EINVAL);
  CHECK(last_error() == "minivmm_machine_wait_timeout: machine is NULL");
  CHECK(minivmm_machine_send_console_input(nullptr, "x", 1) == -EINVAL);
  CHECK(minivmm_machine_vcpu_thread_ids(nullptr, ids, 2) == -EINVAL);
  CHECK(minivmm_machine_vsock_uds_path(nullptr, &s) == -EINVAL);
  CHECK(minivmm_machine_replace_disk(nullptr, "vda", "/img") == -EINVAL);
  CHECK(minivmm_machine_set_disk_read_only(nullptr, "vda", 1) == -EINVAL);
  CHECK(minivmm_machine_metrics_json(nullptr, &s) == -EINVAL);
  CHECK(minivmm_machine_boot_timing_json(nullptr, &s) == -EINVAL);
  CHECK(last_error() == "minivmm_machine_boot_timing_json: machine is NULL");
  CHECK(reason == -1);
  CHECK(s == nullptr);
  CHECK(ids[0] == 0);
  minivmm_machine_destroy(nullptr);
}

}  // namespace
