// Unit tests of to_kvm_segment, the pure conversion from boot/'s segment description to KVM's:
// every field is copied, avl is always 0, and a non-present segment is marked unusable (KVM's
// way of saying "null selector") while a present one is usable.
#include "vmm/machine/cpu_setup.hpp"

#include <doctest/doctest.h>

namespace minivmm {
namespace {

boot::Segment code64() {
  boot::Segment s;
  s.base = 0;
  s.limit = 0xfffff;
  s.selector = 0x10;
  s.type = 0xb;
  s.present = true;
  s.dpl = 0;
  s.db = false;
  s.s = true;
  s.l = true;
  s.g = true;
  return s;
}

TEST_CASE("a 64-bit code segment maps every field") {
  kvm_segment k = to_kvm_segment(code64());
  CHECK(k.base == 0);
  CHECK(k.limit == 0xfffff);
  CHECK(k.selector == 0x10);
  CHECK(k.type == 0xb);
  CHECK(k.present == 1);
  CHECK(k.dpl == 0);
  CHECK(k.db == 0);
  CHECK(k.s == 1);
  CHECK(k.l == 1);
  CHECK(k.g == 1);
  CHECK(k.avl == 0);
  CHECK(k.unusable == 0);
}

TEST_CASE("a 32-bit data segment maps db, g and type and clears l") {
  boot::Segment s;
  s.base = 0x12345000;
  s.limit = 0xffffffff;
  s.selector = 0x18;
  s.type = 0x3;
  s.present = true;
  s.db = true;
  s.s = true;
  s.g = true;
  kvm_segment k = to_kvm_segment(s);
  CHECK(k.base == 0x12345000);
  CHECK(k.limit == 0xffffffff);
  CHECK(k.selector == 0x18);
  CHECK(k.type == 0x3);
  CHECK(k.db == 1);
  CHECK(k.l == 0);
  CHECK(k.g == 1);
  CHECK(k.s == 1);
  CHECK(k.unusable == 0);
}

TEST_CASE("a system segment (TSS) keeps s clear and its type") {
  boot::Segment s;
  s.selector = 0x20;
  s.type = 0xb;  // 64-bit busy TSS
  s.present = true;
  s.limit = 0x67;
  kvm_segment k = to_kvm_segment(s);
  CHECK(k.s == 0);
  CHECK(k.type == 0xb);
  CHECK(k.limit == 0x67);
  CHECK(k.present == 1);
  CHECK(k.unusable == 0);
}

TEST_CASE("a non-present segment is marked unusable") {
  boot::Segment s = code64();
  s.present = false;
  kvm_segment k = to_kvm_segment(s);
  CHECK(k.present == 0);
  CHECK(k.unusable == 1);
}

TEST_CASE("a default segment is a non-present, unusable null segment") {
  kvm_segment k = to_kvm_segment(boot::Segment{});
  CHECK(k.base == 0);
  CHECK(k.limit == 0);
  CHECK(k.selector == 0);
  CHECK(k.present == 0);
  CHECK(k.unusable == 1);
  CHECK(k.avl == 0);
}

TEST_CASE("dpl is copied for every privilege level") {
  for (uint8_t dpl = 0; dpl < 4; ++dpl) {
    boot::Segment s = code64();
    s.dpl = dpl;
    CHECK(to_kvm_segment(s).dpl == dpl);
  }
}

TEST_CASE("a 64-bit base is copied in full") {
  boot::Segment s = code64();
  s.base = 0xffff'8000'0000'1000ull;
  CHECK(to_kvm_segment(s).base == 0xffff'8000'0000'1000ull);
}

}  // namespace
}  // namespace minivmm
