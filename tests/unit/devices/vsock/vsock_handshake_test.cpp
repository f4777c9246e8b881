// Unit tests of HandshakeParser: the CONNECT line in every letter case, whitespace variants,
// missing and overflowing ports, garbage refused early, the length cap, lines split across
// reads at every position, and bytes after the newline left to the caller.
#include "devices/vsock/vsock_handshake.hpp"

#include <string>
#include <string_view>

#include <doctest/doctest.h>

namespace minivmm::vsock {
namespace {

TEST_SUITE_BEGIN("vsock/handshake");

std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

HandshakeStep parse(std::string_view line) {
  HandshakeParser p;
  return p.feed(bytes(line));
}

TEST_CASE("CONNECT in upper, lower and mixed case is accepted") {
  for (std::string_view line : {"CONNECT 1024\n", "connect 1024\n", "CoNnEcT 1024\n"}) {
    CAPTURE(line);
    HandshakeStep s = parse(line);
    CHECK(s.status == HandshakeStatus::done);
    CHECK(s.port == 1024);
    CHECK(s.consumed == line.size());
  }
}

TEST_CASE("extra spaces, tabs and a carriage return are tolerated") {
  for (std::string_view line : {"  CONNECT 7\n", "CONNECT    7\n", "CONNECT\t7\n", "CONNECT 7   \n",
                                "CONNECT 7\r\n", "\tconnect \t 7 \t\r\n"}) {
    CAPTURE(line);
    HandshakeStep s = parse(line);
    CHECK(s.status == HandshakeStatus::done);
    CHECK(s.port == 7);
  }
}

TEST_CASE("port bounds: 0 and 4294967294 are accepted, VMADDR_PORT_ANY and overflow are not") {
  CHECK(parse("CONNECT 0\n").port == 0);
  CHECK(parse("CONNECT 4294967294\n").port == 4294967294u);
  CHECK(parse("CONNECT 0000000052\n").port == 52);
  CHECK(parse("CONNECT 4294967295\n").status == HandshakeStatus::invalid);
  CHECK(parse("CONNECT 4294967296\n").status == HandshakeStatus::invalid);
  CHECK(parse("CONNECT 99999999999\n").status == HandshakeStatus::invalid);
  CHECK(parse("CONNECT 00000000052\n").status == HandshakeStatus::invalid);  // 11 digits
}

TEST_CASE("a missing or malformed port is refused") {
  for (std::string_view line :
       {"CONNECT\n", "CONNECT \n", "CONNECT x\n", "CONNECT -5\n", "CONNECT +5\n", "CONNECT 5x\n",
        "CONNECT 5 6\n", "CONNECT5\n", "CONNECT 5\r\r\n", "CONNECT 5\rx\n"}) {
    CAPTURE(line);
    CHECK(parse(line).status == HandshakeStatus::invalid);
  }
}

TEST_CASE("garbage is refused as soon as it cannot become a CONNECT line") {
  HandshakeParser p;
  HandshakeStep s = p.feed(bytes("GET / HTTP/1.1"));
  CHECK(s.status == HandshakeStatus::invalid);
  CHECK(s.consumed == 1);
  CHECK(parse("CONNEKT 5\n").status == HandshakeStatus::invalid);
  CHECK(parse("\n").status == HandshakeStatus::invalid);
  CHECK(parse(std::string_view("CONNECT \0 5\n", 12)).status == HandshakeStatus::invalid);
}

TEST_CASE("a line above 64 bytes is refused even if it is otherwise valid") {
  std::string ok = "CONNECT" + std::string(64 - 7 - 3, ' ') + "52\n";
  REQUIRE(ok.size() == 64);
  CHECK(parse(ok).status == HandshakeStatus::done);
  std::string over = "CONNECT" + std::string(64 - 7 - 2, ' ') + "52\n";
  REQUIRE(over.size() == 65);
  CHECK(parse(over).status == HandshakeStatus::invalid);
  HandshakeParser p;
  CHECK(p.feed(bytes(std::string(1000, ' '))).status == HandshakeStatus::invalid);
}

TEST_CASE("a line split at every position parses the same") {
  const std::string line = "connect 31337\n";
  for (size_t cut = 0; cut <= line.size(); ++cut) {
    CAPTURE(cut);
    HandshakeParser p;
    HandshakeStep a = p.feed(bytes(std::string_view(line).substr(0, cut)));
    CHECK(a.consumed == cut);
    if (cut < line.size()) {
      CHECK(a.status == HandshakeStatus::need_more);
      HandshakeStep b = p.feed(bytes(std::string_view(line).substr(cut)));
      CHECK(b.status == HandshakeStatus::done);
      CHECK(b.port == 31337);
    } else {
      CHECK(a.status == HandshakeStatus::done);
    }
  }
}

TEST_CASE("one byte at a time works") {
  HandshakeParser p;
  const std::string line = "CONNECT 9\n";
  for (size_t i = 0; i + 1 < line.size(); ++i)
    CHECK(p.feed(bytes(std::string_view(line).substr(i, 1))).status == HandshakeStatus::need_more);
  CHECK(p.feed(bytes("\n")).port == 9);
}

TEST_CASE("bytes after the newline are not consumed") {
  HandshakeStep s = parse("CONNECT 52\nhello world");
  CHECK(s.status == HandshakeStatus::done);
  CHECK(s.consumed == 11);
  HandshakeParser p;
  p.feed(bytes("CONN"));
  s = p.feed(bytes("ECT 52\n\x01\x02"));
  CHECK(s.consumed == 7);
}

TEST_CASE("after done or invalid nothing more is consumed") {
  HandshakeParser p;
  p.feed(bytes("CONNECT 1\n"));
  HandshakeStep s = p.feed(bytes("CONNECT 2\n"));
  CHECK(s.status == HandshakeStatus::done);
  CHECK(s.port == 1);
  CHECK(s.consumed == 0);
  HandshakeParser q;
  q.feed(bytes("x"));
  s = q.feed(bytes("CONNECT 2\n"));
  CHECK(s.status == HandshakeStatus::invalid);
  CHECK(s.consumed == 0);
  CHECK(q.status() == HandshakeStatus::invalid);
}

TEST_CASE("an empty chunk needs more") {
  HandshakeParser p;
  HandshakeStep s = p.feed({});
  CHECK(s.status == HandshakeStatus::need_more);
  CHECK(s.consumed == 0);
}

TEST_SUITE_END();

}  // namespace
}  // namespace minivmm::vsock
