// Tests of the agent's sandbox.root= parsing (examples/sandbox/agent/root_spec.cpp).
#include "examples/sandbox/agent/root_spec.hpp"

#include <doctest/doctest.h>

using namespace sandbox;

TEST_CASE("no sandbox.root word means no root to mount") {
  auto r = parse_root_spec("console=ttyS0 reboot=k quiet\n");
  REQUIRE(r);
  CHECK_FALSE(*r);
}

TEST_CASE("a virtiofs tag and an ext4 device with :ro parse") {
  auto v = parse_root_spec("console=ttyS0 sandbox.root=virtiofs:rootfs quiet\n");
  REQUIRE(v);
  REQUIRE(*v);
  CHECK((*v)->fstype == "virtiofs");
  CHECK((*v)->source == "rootfs");
  CHECK_FALSE((*v)->read_only);
  auto e = parse_root_spec("sandbox.root=ext4:/dev/vda:ro");
  REQUIRE(e);
  REQUIRE(*e);
  CHECK((*e)->source == "/dev/vda");
  CHECK((*e)->read_only);
}

TEST_CASE("malformed or unsupported roots are errors") {
  for (const char* bad : {"sandbox.root=", "sandbox.root=ext4", "sandbox.root=:x",
                          "sandbox.root=ext4:", "sandbox.root=ext4::ro", "sandbox.root=nfs:x"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_root_spec(bad));
  }
}
