// Implementation of the strict JSON reading helpers: the parse with duplicate-key detection, the
// scalar readers and the unknown-key check. Integer and container readers are templates in the
// header.
#include "vmm/config/json_reader.hpp"

#include <array>
#include <charconv>
#include <set>

#include <fmt/ranges.h>

namespace minivmm::json {
namespace {

// Finds the first duplicate key while nlohmann parses (its DOM keeps only the last value of a
// repeated key, so a typo'd second "memory_mib" would silently win). Tracks the path of the value
// being parsed: one frame per open object (its keys so far, the current key) or array (the index
// of the current element).
class DuplicateKeyFinder {
 public:
  bool on_event(nlohmann::json::parse_event_t event, const nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    switch (event) {
      case Event::object_start:
      case Event::array_start:
        begin_element();
        m_stack.push_back({event == Event::object_start, {}, {}, 0, 0});
        break;
      case Event::object_end:
      case Event::array_end:
        m_stack.pop_back();
        break;
      case Event::key: {
        Frame& f = m_stack.back();
        f.key = parsed.get<std::string>();
        if (!f.keys.insert(f.key).second && !m_duplicate) m_duplicate = path();
        break;
      }
      case Event::value:
        begin_element();
        break;
    }
    return true;  // keep every value
  }

  const std::optional<std::string>& duplicate() const { return m_duplicate; }

 private:
  struct Frame {
    bool object;
    std::set<std::string> keys;
    std::string key;
    size_t next_index;
    size_t index;
  };

  void begin_element() {
    if (!m_stack.empty() && !m_stack.back().object)
      m_stack.back().index = m_stack.back().next_index++;
  }

  std::string path() const {
    std::string p;
    for (const Frame& f : m_stack)
      p = f.object ? child_path(p, f.key) : fmt::format("{}[{}]", p, f.index);
    return p;
  }

  std::vector<Frame> m_stack;
  std::optional<std::string> m_duplicate;
};

}  // namespace

Result<nlohmann::json> parse_json_text(std::string_view text) {
  DuplicateKeyFinder finder;
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(
        text, [&finder](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
          return finder.on_event(event, parsed);
        });
  } catch (const nlohmann::json::parse_error& e) {
    // what() is "[json.exception.parse_error.101] parse error at line 1, column 2: ..."
    std::string_view what = e.what();
    if (auto pos = what.find("] "); pos != std::string_view::npos) what.remove_prefix(pos + 2);
    return make_error(ErrorCode::invalid_config, "invalid JSON at byte {}: {}", e.byte, what);
  } catch (const nlohmann::json::exception& e) {
    return make_error(ErrorCode::invalid_config, "invalid JSON: {}", e.what());
  }
  if (finder.duplicate())
    return make_error(ErrorCode::invalid_config, "{}: duplicate key", *finder.duplicate());
  return value;
}

std::string describe(const nlohmann::json& value) {
  constexpr size_t kMaxShown = 40;
  std::string shown = value.dump();
  if (shown.size() > kMaxShown) shown = shown.substr(0, kMaxShown) + "...";
  switch (value.type()) {
    case nlohmann::json::value_t::null:
      return "null";
    case nlohmann::json::value_t::boolean:
      return fmt::format("a boolean ({})", shown);
    case nlohmann::json::value_t::string:
      return fmt::format("a string ({})", shown);
    case nlohmann::json::value_t::array:
      return "an array";
    case nlohmann::json::value_t::object:
      return "an object";
    default:
      return fmt::format("a number ({})", shown);
  }
}

std::string child_path(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
}

tl::unexpected<Error> type_error(const std::string& path, std::string_view expected,
                                 const nlohmann::json& value) {
  return make_error(ErrorCode::invalid_config, "{}: expected {}, got {}", path, expected,
                    describe(value));
}

Result<void> read_value(const nlohmann::json& j, const std::string& path, bool& out) {
  if (!j.is_boolean()) return type_error(path, "a boolean", j);
  out = j.get<bool>();
  return {};
}

Result<void> read_value(const nlohmann::json& j, const std::string& path, std::string& out) {
  if (!j.is_string()) return type_error(path, "a string", j);
  out = j.get<std::string>();
  return {};
}

Result<void> read_value(const nlohmann::json& j, const std::string& path,
                        std::array<uint8_t, 6>& out) {
  constexpr std::string_view kExpected = "a MAC address like \"02:00:00:00:00:01\"";
  if (!j.is_string()) return type_error(path, kExpected, j);
  const std::string& text = j.get_ref<const std::string&>();
  std::array<uint8_t, 6> mac{};
  bool ok = text.size() == 17;
  for (size_t i = 0; ok && i < mac.size(); ++i) {
    const char* p = text.data() + i * 3;
    auto [end, ec] = std::from_chars(p, p + 2, mac[i], 16);
    ok = ec == std::errc() && end == p + 2 && (i == 5 || p[2] == ':');
  }
  if (!ok) return type_error(path, kExpected, j);
  out = mac;
  return {};
}

Result<void> read_value(const nlohmann::json& j, const std::string& path,
                        ConsoleConfig::Output& out) {
  using Output = ConsoleConfig::Output;
  constexpr std::array<std::pair<std::string_view, Output>, 4> kNames{
      {{"none", Output::none},
       {"stdio", Output::stdio},
       {"file", Output::file},
       {"callback", Output::callback}}};
  if (j.is_string()) {
    for (const auto& [name, output] : kNames) {
      if (j.get_ref<const std::string&>() == name) {
        out = output;
        return {};
      }
    }
  }
  return type_error(path, "one of \"none\", \"stdio\", \"file\", \"callback\"", j);
}

Result<void> FieldReader::finish() const {
  if (m_error) return tl::unexpected(*m_error);
  for (const auto& [key, value] : m_object.items()) {
    bool known = false;
    for (std::string_view k : m_known) known = known || k == key;
    if (!known)
      return make_error(ErrorCode::invalid_config, "{}: unknown key (known keys: {})",
                        child_path(m_path, key), fmt::join(m_known, ", "));
  }
  return {};
}

}  // namespace minivmm::json
