// Strict reading of parsed JSON into config structs, shared by the MachineConfig JSON form and the
// CLI's own "cli" object: parse_json_text (syntax errors with their byte offset, duplicate keys
// rejected), read_value overloads that check a value's JSON type and that a number fits the C++
// field, and FieldReader, the visitor that reads an object's keys into a struct's fields and
// rejects every key the struct does not name. Errors are invalid_config and start with the key's
// path ("disks[1].read_only: expected a boolean, got a string (\"yes\")"). Value ranges that are
// representable (memory_mib 0, mtu 20) are not checked here: validate_config does that.
#pragma once

#include <concepts>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <minivmm/config.hpp>
#include <nlohmann/json.hpp>

#include "vmm/sys/error.hpp"

namespace minivmm::json {

/// Parses `text` as one JSON value. Errors: "invalid JSON at byte N: ..." or
/// "PATH: duplicate key" (nlohmann would silently keep the last one).
Result<nlohmann::json> parse_json_text(std::string_view text);

/// "a string (\"yes\")", "an array", "null": what a value is, for error messages.
std::string describe(const nlohmann::json& value);

/// "disks" + "path" -> "disks.path"; "" + "vcpus" -> "vcpus".
std::string child_path(const std::string& path, std::string_view key);

/// An error naming `path` and what was expected instead of `value`.
tl::unexpected<Error> type_error(const std::string& path, std::string_view expected,
                                 const nlohmann::json& value);

Result<void> read_value(const nlohmann::json& j, const std::string& path, bool& out);
Result<void> read_value(const nlohmann::json& j, const std::string& path, std::string& out);
/// "02:00:00:00:00:01" (hex digits, either case).
Result<void> read_value(const nlohmann::json& j, const std::string& path,
                        std::array<uint8_t, 6>& out);
/// "none", "stdio", "file" or "callback".
Result<void> read_value(const nlohmann::json& j, const std::string& path,
                        ConsoleConfig::Output& out);

/// Any integer field: a JSON integer that fits T (no fractions, no 1e3, no overflow).
template <std::integral T>
requires(!std::same_as<T, bool>) Result<void> read_value(const nlohmann::json& j,
                                                         const std::string& path, T& out) {
  if (j.is_number_unsigned()) {
    const auto v = j.get<uint64_t>();
    if (std::in_range<T>(v)) {
      out = static_cast<T>(v);
      return {};
    }
  } else if (j.is_number_integer()) {
    const auto v = j.get<int64_t>();
    if (std::in_range<T>(v)) {
      out = static_cast<T>(v);
      return {};
    }
  }
  using L = std::numeric_limits<T>;
  return type_error(path, fmt::format("an integer in {}..{}", L::min(), L::max()), j);
}

// Declared before their definitions below so FieldReader and the container overloads see them.
template <typename T>
Result<void> read_value(const nlohmann::json& j, const std::string& path, T& out);
template <typename T>
Result<void> read_value(const nlohmann::json& j, const std::string& path, std::optional<T>& out);
template <typename T>
Result<void> read_value(const nlohmann::json& j, const std::string& path, std::vector<T>& out);

/// Reads the keys of one JSON object into a struct: `visit_fields(reader, object)` calls the
/// reader once per field with its key; a present key replaces the field (nested objects merge
/// key by key), an absent one leaves it. finish() reports the first type error, else the first
/// key no field claimed.
class FieldReader {
 public:
  /// `object` must be a JSON object (read_object checks) and outlive the reader.
  FieldReader(const nlohmann::json& object, std::string path)
      : m_object(object), m_path(std::move(path)) {}

  template <typename T>
  void operator()(std::string_view key, T& field) {
    m_known.emplace_back(key);
    if (m_error) return;
    auto it = m_object.find(key);
    if (it == m_object.end()) return;
    if (auto r = read_value(*it, child_path(m_path, key), field); !r) m_error = r.error();
  }

  Result<void> finish() const;

 private:
  const nlohmann::json& m_object;
  std::string m_path;
  std::vector<std::string_view> m_known;
  std::optional<Error> m_error;
};

/// Reads a JSON object into a struct that has a visit_fields overload (found by ADL).
template <typename T>
Result<void> read_object(const nlohmann::json& j, const std::string& path, T& out) {
  if (!j.is_object()) return type_error(path, "an object", j);
  FieldReader reader(j, path);
  visit_fields(reader, out);
  return reader.finish();
}

/// Config structs (the least specialized overload): merged key by key into `out`.
template <typename T>
Result<void> read_value(const nlohmann::json& j, const std::string& path, T& out) {
  return read_object(j, path, out);
}

/// null clears the optional; anything else is read into it (into a default T if it was empty).
template <typename T>
Result<void> read_value(const nlohmann::json& j, const std::string& path, std::optional<T>& out) {
  if (j.is_null()) {
    out.reset();
    return {};
  }
  T value = out.value_or(T{});
  MINIVMM_TRY_VOID(read_value(j, path, value));
  out = std::move(value);
  return {};
}

/// An array replaces the whole list; each element starts from T's defaults.
template <typename T>
Result<void> read_value(const nlohmann::json& j, const std::string& path, std::vector<T>& out) {
  if (!j.is_array()) return type_error(path, "an array", j);
  std::vector<T> list(j.size());
  for (size_t i = 0; i < list.size(); ++i)
    MINIVMM_TRY_VOID(read_value(j[i], fmt::format("{}[{}]", path, i), list[i]));
  out = std::move(list);
  return {};
}

}  // namespace minivmm::json
