// Tests of the --parallel output prefixing (examples/sandbox/host/line_prefixer.cpp).
#include "examples/sandbox/host/line_prefixer.hpp"

#include <doctest/doctest.h>

using namespace sandbox;

TEST_CASE("complete lines are prefixed, a partial line waits for its newline") {
  LinePrefixer p("[1] ");
  CHECK(p.feed("a\nb") == "[1] a\n");
  CHECK(p.feed("c\nd\n") == "[1] bc\n[1] d\n");
  CHECK(p.flush().empty());
}

TEST_CASE("flush ends a held-back line with a newline") {
  LinePrefixer p("[0] ");
  CHECK(p.feed("no newline").empty());
  CHECK(p.flush() == "[0] no newline\n");
  CHECK(p.flush().empty());
}

TEST_CASE("a partial line longer than the bound is emitted without waiting") {
  LinePrefixer p("> ");
  auto out = p.feed(std::string(LinePrefixer::max_partial, 'x'));
  CHECK(out.size() == LinePrefixer::max_partial + 3);
  CHECK(p.flush().empty());
}
