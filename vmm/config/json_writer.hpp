// The inverse of json_reader.hpp: writes config structs as JSON with every field present
// (defaults included), in the order visit_fields lists them (nlohmann::ordered_json), so a
// printed config reads like the schema in CONFIG.md and reads back to an equal config.
#pragma once

#include <array>
#include <concepts>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <minivmm/config.hpp>
#include <nlohmann/json.hpp>

namespace minivmm::json {

nlohmann::ordered_json write_value(const bool& v);
nlohmann::ordered_json write_value(const std::string& v);
/// "02:00:00:00:00:01" (lower-case hex).
nlohmann::ordered_json write_value(const std::array<uint8_t, 6>& mac);
nlohmann::ordered_json write_value(const ConsoleConfig::Output& output);

template <std::integral T>
requires(!std::same_as<T, bool>) nlohmann::ordered_json write_value(const T& v) {
  return v;
}

template <typename T>
nlohmann::ordered_json write_value(const T& v);

/// null when empty.
template <typename T>
nlohmann::ordered_json write_value(const std::optional<T>& v) {
  return v ? write_value(*v) : nlohmann::ordered_json(nullptr);
}

template <typename T>
nlohmann::ordered_json write_value(const std::vector<T>& list) {
  auto out = nlohmann::ordered_json::array();
  for (const T& item : list) out.push_back(write_value(item));
  return out;
}

/// Collects the fields visit_fields names into one JSON object.
class FieldWriter {
 public:
  template <typename T>
  void operator()(std::string_view key, const T& field) {
    m_out[std::string(key)] = write_value(field);
  }
  nlohmann::ordered_json take() { return std::move(m_out); }

 private:
  nlohmann::ordered_json m_out = nlohmann::ordered_json::object();
};

/// Config structs (found by ADL through visit_fields, which takes a mutable struct: hence the
/// copy, a few strings per device).
template <typename T>
nlohmann::ordered_json write_value(const T& v) {
  T copy = v;
  FieldWriter writer;
  visit_fields(writer, copy);
  return writer.take();
}

}  // namespace minivmm::json
