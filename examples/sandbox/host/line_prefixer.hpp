// Prefixes every output line of one command instance ("[2] ") for `sandbox-run --parallel`, so
// lines of concurrent commands never interleave mid-line. Holds back a partial line until its
// newline arrives (or a bound is reached, or the stream ends). Pure: strings in, strings out.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sandbox {

class LinePrefixer {
 public:
  /// A partial line longer than this is emitted (prefixed) without waiting for its newline.
  static constexpr size_t max_partial = 64 * 1024;

  explicit LinePrefixer(std::string prefix) : m_prefix(std::move(prefix)) {}

  /// The complete lines in `data` (plus what was held back), each prefixed.
  std::string feed(std::string_view data);
  /// What is held back, prefixed and newline-terminated; empty when nothing is.
  std::string flush();

 private:
  std::string m_prefix;
  std::string m_partial;
};

}  // namespace sandbox
