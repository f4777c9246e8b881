// Line prefixing for concurrent command output (line_prefixer.hpp).
#include "examples/sandbox/host/line_prefixer.hpp"

namespace sandbox {

std::string LinePrefixer::feed(std::string_view data) {
  std::string out;
  while (!data.empty()) {
    auto nl = data.find('\n');
    if (nl == std::string_view::npos) {
      m_partial.append(data);
      if (m_partial.size() >= max_partial) out += flush();
      break;
    }
    out += m_prefix;
    out += m_partial;
    out.append(data.substr(0, nl + 1));
    m_partial.clear();
    data.remove_prefix(nl + 1);
  }
  return out;
}

std::string LinePrefixer::flush() {
  if (m_partial.empty()) return {};
  std::string out = m_prefix + m_partial + "\n";
  m_partial.clear();
  return out;
}

}  // namespace sandbox
