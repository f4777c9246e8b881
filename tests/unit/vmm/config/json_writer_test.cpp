// Unit tests of the JSON writers on their own: MAC addresses come out as lower-case
// colon-separated hex, empty optionals as null, integers keep their sign, and structs become
// objects with their keys in visit_fields order.
#include "vmm/config/json_writer.hpp"

#include <doctest/doctest.h>

namespace minivmm::json {
namespace {

struct Ordered {
  int z = -4;
  std::string a = "s";
  std::optional<uint16_t> m;
};

template <typename V>
void visit_fields(V& v, Ordered& o) {
  v("z", o.z);
  v("a", o.a);
  v("m", o.m);
}

TEST_CASE("MAC addresses are written as lower-case hex pairs") {
  CHECK(write_value(std::array<uint8_t, 6>{0x02, 0xAB, 0x0c, 0, 0xff, 1}) == "02:ab:0c:00:ff:01");
}

TEST_CASE("empty optionals are null, full ones their value") {
  CHECK(write_value(std::optional<int>{}).is_null());
  CHECK(write_value(std::optional<int>{-2}) == -2);
}

TEST_CASE("structs keep visit_fields order and write every field") {
  Ordered o;
  CHECK(write_value(o).dump() == R"({"z":-4,"a":"s","m":null})");
  o.m = 9;
  CHECK(write_value(std::vector<Ordered>{o}).dump() == R"([{"z":-4,"a":"s","m":9}])");
}

TEST_CASE("console outputs are written by name") {
  CHECK(write_value(ConsoleConfig::Output::callback) == "callback");
  CHECK(write_value(ConsoleConfig::Output::none) == "none");
}

}  // namespace
}  // namespace minivmm::json
