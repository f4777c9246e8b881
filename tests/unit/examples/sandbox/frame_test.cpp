// Tests of the sandbox protocol framing (examples/sandbox/protocol/frame.cpp): round trips,
// byte-at-a-time delivery, truncation, oversized lengths, unknown types and random input.
#include "examples/sandbox/protocol/frame.hpp"

#include <random>
#include <vector>

#include <doctest/doctest.h>

#include "examples/sandbox/protocol/messages.hpp"

using namespace sandbox;

TEST_CASE("a frame round-trips through the decoder") {
  FrameDecoder d;
  d.feed(encode_frame(FrameType::stdout_data, "hello"));
  auto f = d.next();
  REQUIRE(f);
  CHECK(f->type == FrameType::stdout_data);
  CHECK(f->payload == "hello");
  CHECK_FALSE(d.next());
  CHECK(d.buffered() == 0);
}

TEST_CASE("the header is a little-endian length and a type byte") {
  auto bytes = encode_frame(FrameType::signal, std::string(258, 'x'));
  REQUIRE(bytes.size() == 5 + 258);
  CHECK(static_cast<unsigned char>(bytes[0]) == 2);
  CHECK(static_cast<unsigned char>(bytes[1]) == 1);
  CHECK(bytes[2] == 0);
  CHECK(bytes[3] == 0);
  CHECK(bytes[4] == 5);
}

TEST_CASE("frames delivered one byte at a time come out whole and in order") {
  std::string stream = encode_frame(FrameType::hello, "abcd1234") +
                       encode_frame(FrameType::stdin_eof, "") +
                       encode_frame(FrameType::stdin_data, std::string(1000, 'z'));
  FrameDecoder d;
  std::vector<Frame> got;
  for (char c : stream) {
    d.feed(std::string_view(&c, 1));
    while (auto f = d.next()) got.push_back(*f);
  }
  REQUIRE(got.size() == 3);
  CHECK(got[0].type == FrameType::hello);
  CHECK(got[1].type == FrameType::stdin_eof);
  CHECK(got[1].payload.empty());
  CHECK(got[2].payload == std::string(1000, 'z'));
  CHECK(d.error().empty());
}

TEST_CASE("a truncated frame waits for more bytes and stays buffered") {
  auto bytes = encode_frame(FrameType::run, "{\"argv\":[\"x\"]}");
  FrameDecoder d;
  d.feed(std::string_view(bytes).substr(0, bytes.size() - 1));
  CHECK_FALSE(d.next());
  CHECK(d.error().empty());
  CHECK(d.buffered() == bytes.size() - 1);
}

TEST_CASE("a length above the limit is an error before any payload arrives") {
  FrameDecoder d(1024);
  d.feed(encode_frame(FrameType::stdout_data, std::string(1025, 'a')).substr(0, 5));
  CHECK_FALSE(d.next());
  CHECK(d.error().find("exceeds the limit") != std::string::npos);
  d.feed(encode_frame(FrameType::exit, "12345"));
  CHECK_FALSE(d.next());  // the stream cannot be resynchronized
}

TEST_CASE("a 4 GiB length does not allocate and is refused") {
  FrameDecoder d;
  d.feed(std::string("\xff\xff\xff\xff\x11", 5));
  CHECK_FALSE(d.next());
  CHECK_FALSE(d.error().empty());
}

TEST_CASE("unknown frame types are refused") {
  for (int type : {0, 7, 15, 21, 255}) {
    FrameDecoder d;
    d.feed(std::string("\0\0\0\0", 4) + static_cast<char>(type));
    CHECK_FALSE(d.next());
    CHECK(d.error() == "unknown frame type " + std::to_string(type));
  }
}

TEST_CASE("every defined type is known and named") {
  for (int t = 0; t < 256; ++t) {
    bool known = is_known_frame_type(static_cast<uint8_t>(t));
    CHECK(known == ((t >= 1 && t <= 6) || (t >= 16 && t <= 20)));
    if (known) CHECK(std::string(to_string(static_cast<FrameType>(t))) != "?");
  }
}

TEST_CASE("random byte streams never crash the decoder or the payload parsers") {
  std::mt19937 rng(12345);
  for (int round = 0; round < 2000; ++round) {
    std::string bytes(rng() % 64, '\0');
    for (auto& b : bytes) b = static_cast<char>(rng());
    // Mostly small lengths and known types, so payload parsers see frames too.
    if (bytes.size() >= 5) {
      bytes[1] = bytes[2] = bytes[3] = 0;
      bytes[0] = static_cast<char>(rng() % 40);
      bytes[4] = static_cast<char>(rng() % 2 ? 16 + rng() % 5 : 1 + rng() % 6);
    }
    FrameDecoder d(256);
    d.feed(bytes);
    while (auto f = d.next()) {
      (void)parse_hello(f->payload);
      (void)parse_run(f->payload);
      (void)parse_signal(f->payload);
      (void)parse_exit(f->payload);
      (void)parse_error(f->payload);
    }
    CHECK(d.buffered() <= bytes.size());
  }
}
