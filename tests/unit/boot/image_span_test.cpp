// Tests for boot/image_span: the overflow-safe helpers every image parser relies on.
#include "boot/image_span.hpp"

#include <doctest/doctest.h>

#include <vector>

namespace minivmm::boot {

TEST_CASE("checked_add and checked_mul report overflow") {
  CHECK(checked_add(1, 2) == 3u);
  CHECK_FALSE(checked_add(~uint64_t{0}, 1).has_value());
  CHECK(checked_mul(3, 4) == 12u);
  CHECK_FALSE(checked_mul(uint64_t{1} << 33, uint64_t{1} << 31).has_value());
}

TEST_CASE("checked_align_up rounds up and reports overflow") {
  CHECK(checked_align_up(0x1001, 0x1000) == 0x2000u);
  CHECK(checked_align_up(0x1000, 0x1000) == 0x1000u);
  CHECK_FALSE(checked_align_up(~uint64_t{0}, 0x1000).has_value());
}

TEST_CASE("in_file rejects ranges past the end without overflow") {
  std::vector<uint8_t> f(16);
  CHECK(in_file(f, 0, 16));
  CHECK(in_file(f, 16, 0));
  CHECK_FALSE(in_file(f, 17, 0));
  CHECK_FALSE(in_file(f, 8, 9));
  CHECK_FALSE(in_file(f, 8, ~uint64_t{0}));
  CHECK_FALSE(read_at<uint64_t>(f, 9).has_value());
  CHECK(read_at<uint64_t>(f, 8).has_value());
}

TEST_CASE("ranges_overlap treats empty ranges as disjoint") {
  CHECK(ranges_overlap(0, 10, 9, 1));
  CHECK_FALSE(ranges_overlap(0, 10, 10, 1));
  CHECK_FALSE(ranges_overlap(5, 0, 0, 10));
}

}  // namespace minivmm::boot
