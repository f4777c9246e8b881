// Implementation of the driver's shared pieces (driver_support.hpp): report lines, options, the
// console log and state recorder, and the Result helpers. Output goes through one mutex so lines
// of two machines' consoles and the driver's own reports never interleave within a line.
#include "driver_support.hpp"

#include <string.h>

#include <algorithm>
#include <cstdio>

namespace api_e2e {

namespace {

std::mutex g_print_mutex;
const auto g_start = std::chrono::steady_clock::now();

}  // namespace

void fail(const std::string& what) {
  throw ScenarioFailure(what);
}

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - g_start)
      .count();
}

void print_line(std::string_view line) {
  std::lock_guard lock(g_print_mutex);
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

void report(std::string_view key, std::string_view value) {
  print_line("API-E2E " + std::string(key) + "=" + std::string(value));
}

Options Options::parse(int argc, char** argv, int first) {
  Options o;
  for (int i = first; i < argc; i += 2) {
    std::string key = argv[i];
    if (key.rfind("--", 0) != 0 || i + 1 >= argc) fail("bad option " + key + " (want --key value)");
    o.m_values[key.substr(2)] = argv[i + 1];
  }
  return o;
}

const std::string& Options::get(const std::string& key) const {
  auto it = m_values.find(key);
  if (it == m_values.end()) fail("missing option --" + key);
  return it->second;
}

std::function<void(std::string_view)> ConsoleLog::sink() {
  return [this](std::string_view bytes) { take(bytes); };
}

void ConsoleLog::take(std::string_view bytes) {
  std::vector<std::string> done;
  {
    std::lock_guard lock(m_mutex);
    m_bytes += bytes.size();
    double t = now_ms();
    for (char c : bytes) {
      if (c == '\r') continue;
      if (c != '\n') {
        m_partial.push_back(c);
        continue;
      }
      m_lines.push_back({t, m_partial});
      done.push_back(std::move(m_partial));
      m_partial.clear();
    }
  }
  if (!done.empty()) m_cv.notify_all();
  for (const auto& line : done) print_line("[" + m_tag + "] " + line);
}

std::optional<size_t> ConsoleLog::wait_line(std::string_view needle,
                                            std::chrono::milliseconds timeout, size_t from) {
  std::unique_lock lock(m_mutex);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (size_t i = from;;) {
    for (; i < m_lines.size(); ++i) {
      if (m_lines[i].text.find(needle) != std::string::npos) return i;
    }
    if (m_cv.wait_until(lock, deadline) == std::cv_status::timeout && i == m_lines.size())
      return std::nullopt;
  }
}

std::optional<ConsoleLog::Line> ConsoleLog::find(std::string_view needle, size_t from) const {
  std::lock_guard lock(m_mutex);
  for (size_t i = from; i < m_lines.size(); ++i) {
    if (m_lines[i].text.find(needle) != std::string::npos) return m_lines[i];
  }
  return std::nullopt;
}

std::vector<ConsoleLog::Line> ConsoleLog::lines() const {
  std::lock_guard lock(m_mutex);
  return m_lines;
}

size_t ConsoleLog::line_count() const {
  std::lock_guard lock(m_mutex);
  return m_lines.size();
}

uint64_t ConsoleLog::bytes() const {
  std::lock_guard lock(m_mutex);
  return m_bytes;
}

std::function<void(minivmm::MachineState, minivmm::MachineState)> StateRecorder::callback() {
  return [this](minivmm::MachineState from, minivmm::MachineState to) {
    {
      std::lock_guard lock(m_mutex);
      m_changes.emplace_back(from, to);
    }
    m_cv.notify_all();
  };
}

std::string StateRecorder::sequence(minivmm::MachineState last, std::chrono::milliseconds timeout) {
  std::unique_lock lock(m_mutex);
  m_cv.wait_for(lock, timeout, [&] {
    return std::any_of(m_changes.begin(), m_changes.end(),
                       [&](const auto& c) { return c.second == last; });
  });
  std::string out;
  for (const auto& [from, to] : m_changes) {
    if (!out.empty()) out += ",";
    out += std::string(minivmm::to_string(from)) + ">" + minivmm::to_string(to);
  }
  return out;
}

std::string code_name(const minivmm::Error& e) {
  if (e.code().category() == minivmm::minivmm_category()) {
    switch (static_cast<minivmm::ErrorCode>(e.code().value())) {
      case minivmm::ErrorCode::invalid_config:
        return "invalid_config";
      case minivmm::ErrorCode::invalid_image:
        return "invalid_image";
      case minivmm::ErrorCode::unsupported:
        return "unsupported";
      case minivmm::ErrorCode::guest_layout:
        return "guest_layout";
      case minivmm::ErrorCode::timeout:
        return "timeout";
      case minivmm::ErrorCode::invalid_state:
        return "invalid_state";
    }
    return "minivmm:" + std::to_string(e.code().value());
  }
  const char* name = strerrorname_np(e.code().value());
  return name != nullptr
             ? name
             : e.code().category().name() + std::string(":") + std::to_string(e.code().value());
}

minivmm::MachineConfig guest_config(const Options& options, std::string_view script,
                                    ConsoleLog& console, std::string_view extra) {
  minivmm::MachineConfig config;
  config.kernel_path = options.get("kernel");
  config.initrd_path = options.get("initrd");
  config.memory_mib = 128;
  config.cmdline = "console=ttyS0 reboot=k panic=-1 e2e.script=" + std::string(script);
  if (!extra.empty()) config.cmdline += " " + std::string(extra);
  config.console.output = minivmm::ConsoleConfig::Output::callback;
  config.console.on_output = console.sink();
  return config;
}

std::unique_ptr<minivmm::Machine> create_machine(const minivmm::MachineConfig& config) {
  return value_or_fail(minivmm::Machine::create(config), "Machine::create");
}

minivmm::ExitStatus wait_exit(minivmm::Machine& machine, std::chrono::milliseconds limit,
                              std::string_view what) {
  auto r = machine.wait_for(limit);
  if (r) return *r;
  std::string why = r.error().message();
  machine.request_stop();
  (void)machine.wait();
  fail(std::string(what) + ": the machine did not stop within " + std::to_string(limit.count()) +
       " ms (" + why + ")");
}

size_t expect_line(ConsoleLog& console, std::string_view needle, std::chrono::milliseconds limit,
                   size_t from) {
  auto i = console.wait_line(needle, limit, from);
  if (!i) {
    fail("no guest console line with '" + std::string(needle) + "' within " +
         std::to_string(limit.count()) + " ms");
  }
  return *i;
}

std::string metrics_json(const minivmm::Machine& machine) {
  std::string json = minivmm::to_json(machine.metrics());
  std::replace(json.begin(), json.end(), '\n', ' ');
  return json;
}

std::string reason_name(minivmm::ExitReason reason) {
  using R = minivmm::ExitReason;
  switch (reason) {
    case R::guest_reset:
      return "guest_reset";
    case R::guest_shutdown:
      return "guest_shutdown";
    case R::triple_fault:
      return "triple_fault";
    case R::internal_error:
      return "internal_error";
    case R::stopped_by_host:
      return "stopped_by_host";
    case R::graceful_stop_timeout:
      return "graceful_stop_timeout";
  }
  return "unknown:" + std::to_string(static_cast<int>(reason));
}

std::string join(const std::vector<pid_t>& values) {
  std::string out;
  for (pid_t v : values) out += (out.empty() ? "" : ",") + std::to_string(v);
  return out;
}

}  // namespace api_e2e
