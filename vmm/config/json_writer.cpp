// Implementation of the scalar JSON writers; containers and structs are templates in the header.
#include "vmm/config/json_writer.hpp"

#include <fmt/format.h>

namespace minivmm::json {

nlohmann::ordered_json write_value(const bool& v) {
  return v;
}

nlohmann::ordered_json write_value(const std::string& v) {
  return v;
}

nlohmann::ordered_json write_value(const std::array<uint8_t, 6>& mac) {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", mac[0], mac[1], mac[2], mac[3],
                     mac[4], mac[5]);
}

nlohmann::ordered_json write_value(const ConsoleConfig::Output& output) {
  switch (output) {
    case ConsoleConfig::Output::none:
      return "none";
    case ConsoleConfig::Output::stdio:
      return "stdio";
    case ConsoleConfig::Output::file:
      return "file";
    case ConsoleConfig::Output::callback:
      return "callback";
  }
  return "none";
}

}  // namespace minivmm::json
