// Tests of the sandbox protocol payloads (examples/sandbox/protocol/messages.cpp): valid round
// trips and the rejection of malformed, hostile or out-of-range payloads.
#include "examples/sandbox/protocol/messages.hpp"

#include <cerrno>

#include <doctest/doctest.h>

using namespace sandbox;

TEST_CASE("HELLO carries the magic and the version") {
  auto v = parse_hello(encode_hello(7));
  REQUIRE(v);
  CHECK(*v == 7);
  CHECK_FALSE(parse_hello("MVSB"));
  CHECK_FALSE(parse_hello("XXXX\x01\0\0\0"));
  CHECK_FALSE(parse_hello(encode_hello(1) + "x"));
}

TEST_CASE("RUN round-trips argv, env and cwd") {
  RunRequest r{{"/bin/sh", "-c", "echo \"hi\"; exit 3"}, {"A=1", "B=x=y"}, "/tmp"};
  auto p = parse_run(encode_run(r));
  REQUIRE(p);
  CHECK(p->argv == r.argv);
  CHECK(p->env == r.env);
  CHECK(p->cwd == "/tmp");
}

TEST_CASE("RUN without env and cwd gets an empty environment and /") {
  auto p = parse_run(R"({"argv":["ls"]})");
  REQUIRE(p);
  CHECK(p->env.empty());
  CHECK(p->cwd == "/");
}

TEST_CASE("malformed RUN requests are refused with a reason") {
  struct Case {
    const char* json;
    const char* why;
  } cases[] = {
      {"not json", "not a JSON object"},
      {"[1,2]", "not a JSON object"},
      {R"({"env":[]})", "argv: empty"},
      {R"({"argv":[]})", "argv: empty"},
      {R"({"argv":[""]})", "argv: empty"},
      {R"({"argv":"ls"})", "not an array"},
      {R"({"argv":["ls", 3]})", "not a string"},
      {R"({"argv":["a\u0000b"]})", "NUL"},
      {R"({"argv":["ls"],"env":["NOEQUALS"]})", "not NAME=value"},
      {R"({"argv":["ls"],"env":["=x"]})", "not NAME=value"},
      {R"({"argv":["ls"],"cwd":"relative"})", "absolute"},
      {R"({"argv":["ls"],"cwd":""})", "absolute"},
      {R"({"argv":["ls"],"cwd":5})", "not a string"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.json);
    auto p = parse_run(c.json);
    REQUIRE_FALSE(p);
    CHECK(p.error().find(c.why) != std::string::npos);
  }
}

TEST_CASE("RUN with too many argv entries is refused") {
  RunRequest r{std::vector<std::string>(max_run_strings + 1, "x"), {}, "/"};
  auto p = parse_run(encode_run(r));
  REQUIRE_FALSE(p);
  CHECK(p.error().find("at most") != std::string::npos);
}

TEST_CASE("SIGNAL accepts 1..64 only") {
  CHECK(*parse_signal(encode_u32(15)) == 15);
  CHECK(*parse_signal(encode_u32(64)) == 64);
  CHECK_FALSE(parse_signal(encode_u32(0)));
  CHECK_FALSE(parse_signal(encode_u32(65)));
  CHECK_FALSE(parse_signal("abc"));
}

TEST_CASE("EXIT round-trips and maps to the shell's exit code") {
  auto e = parse_exit(encode_exit({ExitInfo::Kind::exited, 3}));
  REQUIRE(e);
  CHECK(exit_code_of(*e) == 3);
  auto s = parse_exit(encode_exit({ExitInfo::Kind::signaled, 15}));
  REQUIRE(s);
  CHECK(exit_code_of(*s) == 143);
}

TEST_CASE("EXIT with a bad kind, an out-of-range value or a bad size is refused") {
  CHECK_FALSE(parse_exit(encode_exit({ExitInfo::Kind::exited, 256})));
  CHECK_FALSE(parse_exit(encode_exit({ExitInfo::Kind::signaled, 0})));
  CHECK_FALSE(parse_exit(encode_exit({ExitInfo::Kind::signaled, 65})));
  CHECK_FALSE(parse_exit(std::string("\x02\0\0\0\0", 5)));
  CHECK_FALSE(parse_exit("1234"));
  CHECK_FALSE(parse_exit("123456"));
}

TEST_CASE("ERROR round-trips and exec failures map to 127 and 126") {
  auto e = parse_error(encode_error({ErrorKind::exec, ENOENT, "nope: command not found"}));
  REQUIRE(e);
  CHECK(e->kind == ErrorKind::exec);
  CHECK(e->message == "nope: command not found");
  CHECK(exit_code_of(*e) == 127);
  CHECK(exit_code_of(ErrorInfo{ErrorKind::exec, EACCES, ""}) == 126);
  CHECK(exit_code_of(ErrorInfo{ErrorKind::request, ENOENT, ""}) == 125);
  CHECK(exit_code_of(ErrorInfo{ErrorKind::protocol, 0, ""}) == 125);
}

TEST_CASE("ERROR with an unknown kind or an oversized message is refused") {
  CHECK_FALSE(parse_error(std::string("\x09\0\0\0\0", 5)));
  CHECK_FALSE(parse_error("\x01"));
  CHECK_FALSE(
      parse_error(std::string("\x01\0\0\0\0", 5) + std::string(max_error_message + 1, 'm')));
  // The encoder cuts long messages to what the parser accepts.
  CHECK(parse_error(encode_error({ErrorKind::internal, 0, std::string(10000, 'm')})));
}
