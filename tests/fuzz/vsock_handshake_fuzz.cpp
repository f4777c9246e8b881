// libFuzzer target for the vsock CONNECT-line parser (HandshakeParser). The input is split into
// chunks at fuzzer-chosen positions and fed chunk by chunk, as a host program's bytes arrive over
// any number of reads. Checked on every input: the split does not change the outcome (status,
// port, bytes consumed) compared with feeding everything at once; nothing past the newline is
// consumed; a done line is at most 64 bytes and agrees with a simple reference parser; once done
// or invalid the parser consumes nothing more. Any crash, sanitizer report or broken invariant
// aborts.
//
// Input: u8 k | k x u8 chunk lengths | the bytes (chunk lengths cycle; 0 means one byte).
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>
#include <string_view>

#include "devices/vsock/vsock_handshake.hpp"

using namespace minivmm::vsock;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

/// The grammar written the obvious way, for one complete line (without its newline).
std::optional<uint32_t> reference(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  auto ws = [](char c) { return c == ' ' || c == '\t'; };
  size_t i = 0;
  while (i < line.size() && ws(line[i])) ++i;
  static constexpr std::string_view kw = "connect";
  if (line.size() - i < kw.size()) return std::nullopt;
  for (char k : kw) {
    char c = line[i++];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != k) return std::nullopt;
  }
  size_t gap = i;
  while (i < line.size() && ws(line[i])) ++i;
  if (i == gap) return std::nullopt;
  size_t digits = i;
  uint64_t port = 0;
  while (i < line.size() && line[i] >= '0' && line[i] <= '9') {
    port = port * 10 + static_cast<uint64_t>(line[i] - '0');
    if (++i - digits > 10) return std::nullopt;
  }
  if (i == digits || port > 0xFFFFFFFEull) return std::nullopt;
  while (i < line.size() && ws(line[i])) ++i;
  if (i != line.size()) return std::nullopt;
  return static_cast<uint32_t>(port);
}

struct Outcome {
  HandshakeStatus status = HandshakeStatus::need_more;
  size_t consumed = 0;
  uint32_t port = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t k = std::min<size_t>(data[0], size - 1);
  std::span<const uint8_t> cuts(data + 1, k);
  std::span<const uint8_t> bytes(data + 1 + k, size - 1 - k);

  // Everything at once.
  HandshakeParser whole;
  HandshakeStep w = whole.feed(bytes);
  check(w.consumed <= bytes.size());
  if (w.status == HandshakeStatus::need_more) check(w.consumed == bytes.size());

  // Chunk by chunk.
  HandshakeParser split;
  Outcome s;
  size_t pos = 0;
  for (size_t c = 0; pos < bytes.size(); ++c) {
    size_t len = cuts.empty() ? 1 : std::max<size_t>(cuts[c % cuts.size()], 1);
    len = std::min(len, bytes.size() - pos);
    const HandshakeStatus before = s.status;
    HandshakeStep step = split.feed(bytes.subspan(pos, len));
    check(step.consumed <= len);
    if (before != HandshakeStatus::need_more) check(step.consumed == 0 && step.status == before);
    if (step.status == HandshakeStatus::need_more) check(step.consumed == len);
    s.consumed += step.consumed;
    s.status = step.status;
    s.port = step.port;
    pos += len;
  }
  check(s.status == w.status);
  check(s.consumed == w.consumed);
  check(split.status() == whole.status());

  if (w.status == HandshakeStatus::done) {
    check(w.port == s.port);
    check(w.consumed >= 1 && w.consumed <= HandshakeParser::kMaxLine);
    check(bytes[w.consumed - 1] == '\n');
    std::string_view line(reinterpret_cast<const char*>(bytes.data()), w.consumed - 1);
    check(line.find('\n') == std::string_view::npos);
    auto ref = reference(line);
    check(ref.has_value() && *ref == w.port);
  } else {
    // No complete valid line within the first kMaxLine bytes.
    std::string_view all(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    size_t nl = all.find('\n');
    if (nl != std::string_view::npos && nl < HandshakeParser::kMaxLine)
      check(!reference(all.substr(0, nl)).has_value());
    if (w.status == HandshakeStatus::need_more)
      check(nl == std::string_view::npos && bytes.size() <= HandshakeParser::kMaxLine);
  }
  return 0;
}
