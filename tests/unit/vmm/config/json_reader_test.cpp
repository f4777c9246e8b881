// Unit tests of the strict JSON reading helpers on their own: integer fields of every width take
// exactly the integers that fit, duplicate keys are found at any depth (also inside nested arrays)
// with their path, describe() says what a value is, and FieldReader reports a type error before
// an unknown key and leaves absent keys alone.
#include "vmm/config/json_reader.hpp"

#include <string>

#include <doctest/doctest.h>

namespace minivmm::json {
namespace {

template <typename T>
std::string read_error(const char* text, T& out) {
  auto r = read_value(nlohmann::json::parse(text), "k", out);
  return r ? "" : r.error().message();
}

struct Pair {
  int a = 1;
  bool b = false;
};

template <typename V>
void visit_fields(V& v, Pair& p) {
  v("a", p.a);
  v("b", p.b);
}

TEST_CASE("uint8 fields take 0..255 only") {
  uint8_t v = 9;
  CHECK(read_error("255", v).empty());
  CHECK(v == 255);
  CHECK(read_error("0", v).empty());
  CHECK(v == 0);
  CHECK(read_error("256", v) == "k: expected an integer in 0..255, got a number (256)");
  CHECK(read_error("-1", v) == "k: expected an integer in 0..255, got a number (-1)");
  CHECK(v == 0);
}

TEST_CASE("int64 fields take the whole signed range") {
  int64_t v = 0;
  CHECK(read_error("-9223372036854775808", v).empty());
  CHECK(v == INT64_MIN);
  CHECK(read_error("9223372036854775807", v).empty());
  CHECK(v == INT64_MAX);
  CHECK_FALSE(read_error("9223372036854775808", v).empty());
}

TEST_CASE("integers never come from fractions, exponents, strings or booleans") {
  uint32_t v = 7;
  for (const char* text : {"1.0", "2.5", "1e2", "\"1\"", "true", "null", "[1]"}) {
    CAPTURE(text);
    CHECK_FALSE(read_error(text, v).empty());
    CHECK(v == 7);
  }
}

TEST_CASE("describe names the JSON type and shows scalars") {
  CHECK(describe(nullptr) == "null");
  CHECK(describe(true) == "a boolean (true)");
  CHECK(describe("x") == "a string (\"x\")");
  CHECK(describe(-3) == "a number (-3)");
  CHECK(describe(nlohmann::json::array()) == "an array");
  CHECK(describe(nlohmann::json::object()) == "an object");
}

TEST_CASE("child_path joins keys with dots and starts bare at the top") {
  CHECK(child_path("", "vcpus") == "vcpus");
  CHECK(child_path("disks[1]", "path") == "disks[1].path");
}

TEST_CASE("parse_json_text finds duplicate keys inside nested arrays") {
  auto r = parse_json_text(R"({"a": [[1, {"x": 1}], [{"y": 1, "y": 2}]]})");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message() == "a[1][0].y: duplicate key");
  auto ok = parse_json_text(R"({"a": [{"y": 1}, {"y": 2}], "b": {"y": 3}})");
  CHECK(ok.has_value());
}

TEST_CASE("parse_json_text counts array elements after scalars and objects alike") {
  auto r = parse_json_text(R"([1, "s", {}, [], {"k": 0, "k": 1}])");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message() == "[4].k: duplicate key");
}

TEST_CASE("FieldReader leaves absent keys and reads present ones") {
  Pair p;
  REQUIRE(read_object(nlohmann::json::parse(R"({"b": true})"), "p", p).has_value());
  CHECK(p.a == 1);
  CHECK(p.b);
}

TEST_CASE("FieldReader reports a type error before an unknown key") {
  Pair p;
  auto r = read_object(nlohmann::json::parse(R"({"zz": 1, "a": "x"})"), "p", p);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message().rfind("p.a: expected an integer", 0) == 0);
  r = read_object(nlohmann::json::parse(R"({"zz": 1, "a": 2})"), "p", p);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message() == "p.zz: unknown key (known keys: a, b)");
}

TEST_CASE("read_object refuses non-objects") {
  Pair p;
  auto r = read_object(nlohmann::json::parse("[]"), "p", p);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message() == "p: expected an object, got an array");
}

}  // namespace
}  // namespace minivmm::json
