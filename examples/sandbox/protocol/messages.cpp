// Encoders and validating parsers of the sandbox agent protocol payloads (messages.hpp). Parsers
// see bytes from the peer: every size is checked before use, JSON errors become error strings.
#include "examples/sandbox/protocol/messages.hpp"

#include <cerrno>

#include <nlohmann/json.hpp>

namespace sandbox {
namespace {

constexpr std::string_view hello_magic = "MVSB";

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t get_u32(std::string_view p) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

tl::unexpected<std::string> fail(std::string why) {
  return tl::unexpected(std::move(why));
}

// A JSON array of strings, each free of NUL bytes, at most max_run_strings long.
Parsed<std::vector<std::string>> string_list(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return std::vector<std::string>{};
  if (!it->is_array()) return fail(std::string(key) + ": not an array");
  if (it->size() > max_run_strings)
    return fail(std::string(key) + ": " + std::to_string(it->size()) + " entries, at most " +
                std::to_string(max_run_strings));
  std::vector<std::string> out;
  for (const auto& e : *it) {
    if (!e.is_string()) return fail(std::string(key) + ": an entry is not a string");
    auto s = e.get<std::string>();
    if (s.find('\0') != std::string::npos)
      return fail(std::string(key) + ": an entry contains a NUL byte");
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

std::string encode_hello(uint32_t version) {
  std::string out(hello_magic);
  put_u32(out, version);
  return out;
}

Parsed<uint32_t> parse_hello(std::string_view payload) {
  if (payload.size() != 8 || payload.substr(0, 4) != hello_magic)
    return fail("HELLO: expected \"MVSB\" and a u32 version (" + std::to_string(payload.size()) +
                " bytes)");
  return get_u32(payload.substr(4));
}

std::string encode_run(const RunRequest& r) {
  nlohmann::json j{{"argv", r.argv}, {"env", r.env}, {"cwd", r.cwd}};
  return j.dump();
}

Parsed<RunRequest> parse_run(std::string_view payload) {
  auto j = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return fail("RUN: not a JSON object");
  RunRequest r;
  auto argv = string_list(j, "argv");
  if (!argv) return fail("RUN: " + argv.error());
  if (argv->empty() || (*argv)[0].empty()) return fail("RUN: argv: empty");
  r.argv = std::move(*argv);
  auto env = string_list(j, "env");
  if (!env) return fail("RUN: " + env.error());
  for (const auto& e : *env)
    if (e.find('=') == std::string::npos || e[0] == '=')
      return fail("RUN: env: \"" + e.substr(0, 64) + "\" is not NAME=value");
  r.env = std::move(*env);
  if (auto it = j.find("cwd"); it != j.end()) {
    if (!it->is_string()) return fail("RUN: cwd: not a string");
    r.cwd = it->get<std::string>();
    if (r.cwd.empty() || r.cwd[0] != '/' || r.cwd.find('\0') != std::string::npos)
      return fail("RUN: cwd: \"" + r.cwd.substr(0, 64) + "\" is not an absolute path");
  }
  return r;
}

std::string encode_u32(uint32_t v) {
  std::string out;
  put_u32(out, v);
  return out;
}

Parsed<uint32_t> parse_u32(std::string_view payload) {
  if (payload.size() != 4) return fail("expected 4 bytes, got " + std::to_string(payload.size()));
  return get_u32(payload);
}

Parsed<int> parse_signal(std::string_view payload) {
  auto v = parse_u32(payload);
  if (!v) return fail("SIGNAL: " + v.error());
  if (*v == 0 || *v > 64) return fail("SIGNAL: signal " + std::to_string(*v) + " out of 1..64");
  return static_cast<int>(*v);
}

std::string encode_exit(const ExitInfo& e) {
  std::string out(1, static_cast<char>(e.kind));
  put_u32(out, e.value);
  return out;
}

Parsed<ExitInfo> parse_exit(std::string_view payload) {
  if (payload.size() != 5)
    return fail("EXIT: expected 5 bytes, got " + std::to_string(payload.size()));
  ExitInfo e;
  e.value = get_u32(payload.substr(1));
  auto kind = static_cast<uint8_t>(payload[0]);
  if (kind == 0 && e.value <= 255) {
    e.kind = ExitInfo::Kind::exited;
  } else if (kind == 1 && e.value >= 1 && e.value <= 64) {
    e.kind = ExitInfo::Kind::signaled;
  } else {
    return fail("EXIT: kind " + std::to_string(kind) + " value " + std::to_string(e.value) +
                " out of range");
  }
  return e;
}

int exit_code_of(const ExitInfo& e) noexcept {
  return e.kind == ExitInfo::Kind::exited ? static_cast<int>(e.value)
                                          : 128 + static_cast<int>(e.value);
}

std::string encode_error(const ErrorInfo& e) {
  std::string out(1, static_cast<char>(e.kind));
  put_u32(out, static_cast<uint32_t>(e.err));
  out += e.message.substr(0, max_error_message);
  return out;
}

Parsed<ErrorInfo> parse_error(std::string_view payload) {
  if (payload.size() < 5 || payload.size() > 5 + max_error_message)
    return fail("ERROR: " + std::to_string(payload.size()) + " bytes, expected 5.." +
                std::to_string(5 + max_error_message));
  auto kind = static_cast<uint8_t>(payload[0]);
  if (kind < 1 || kind > 4) return fail("ERROR: unknown kind " + std::to_string(kind));
  ErrorInfo e;
  e.kind = static_cast<ErrorKind>(kind);
  e.err = static_cast<int32_t>(get_u32(payload.substr(1)));
  e.message = std::string(payload.substr(5));
  return e;
}

int exit_code_of(const ErrorInfo& e) noexcept {
  if (e.kind != ErrorKind::exec) return 125;
  return e.err == ENOENT ? 127 : 126;
}

}  // namespace sandbox
