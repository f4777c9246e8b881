// Implementation of the console output sink.
#include "vmm/machine/console_sink.hpp"

#include <fcntl.h>
#include <unistd.h>

namespace minivmm {

Result<ConsoleSink> ConsoleSink::create(const ConsoleConfig& config) {
  switch (config.output) {
    case ConsoleConfig::Output::none:
      return ConsoleSink(config.output, UniqueFd(), nullptr);
    case ConsoleConfig::Output::stdio: {
      int fd = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0);
      if (fd < 0) return errno_error("console: dup stdout");
      return ConsoleSink(config.output, UniqueFd(fd), nullptr);
    }
    case ConsoleConfig::Output::file: {
      int fd = ::open(config.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd < 0) return errno_error("console: open {}", config.path);
      return ConsoleSink(config.output, UniqueFd(fd), nullptr);
    }
    case ConsoleConfig::Output::callback:
      if (!config.on_output)
        return make_error(ErrorCode::invalid_config, "console: callback output without on_output");
      return ConsoleSink(config.output, UniqueFd(), config.on_output);
  }
  return make_error(ErrorCode::invalid_config, "console: unknown output kind");
}

void ConsoleSink::write(std::span<const uint8_t> bytes) {
  switch (m_kind) {
    case ConsoleConfig::Output::none:
      return;
    case ConsoleConfig::Output::callback:
      m_callback(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
      return;
    case ConsoleConfig::Output::file:
      if (m_written.fetch_add(bytes.size()) + bytes.size() > kMaxFileBytes) {
        m_dropped.fetch_add(bytes.size());
        return;
      }
      [[fallthrough]];
    case ConsoleConfig::Output::stdio: {
      size_t done = 0;
      while (done < bytes.size()) {
        ssize_t n = ::write(m_fd.get(), bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          m_dropped.fetch_add(bytes.size() - done);
          return;
        }
        done += static_cast<size_t>(n);
      }
      return;
    }
  }
}

}  // namespace minivmm
