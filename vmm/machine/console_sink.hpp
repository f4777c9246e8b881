// ConsoleSink: where the guest's serial output goes (none, stdout, a file, or an embedder
// callback), per ConsoleConfig. A file sink stops growing at a byte cap so a guest flooding its
// console can never fill the host disk (HOSTILE-GUEST.md, whole machine).
#pragma once

#include <atomic>
#include <cstdint>
#include <span>

#include <minivmm/machine.hpp>
#include "vmm/sys/error.hpp"
#include "vmm/sys/unique_fd.hpp"

namespace minivmm {

class ConsoleSink {
 public:
  static constexpr uint64_t kMaxFileBytes = 256ull << 20;

  /// Opens the file for Output::file (O_APPEND|O_CREAT). Errors name the path.
  static Result<ConsoleSink> create(const ConsoleConfig& config);
  ConsoleSink(ConsoleSink&& o) noexcept
      : m_kind(o.m_kind),
        m_fd(std::move(o.m_fd)),
        m_callback(std::move(o.m_callback)),
        m_written(o.m_written.load()),
        m_dropped(o.m_dropped.load()) {}

  /// Called on vCPU threads with transmitted bytes. Never blocks on a full disk for long: write
  /// errors drop the bytes.
  void write(std::span<const uint8_t> bytes);
  uint64_t dropped() const noexcept { return m_dropped.load(); }

 private:
  ConsoleSink(ConsoleConfig::Output kind, UniqueFd fd, std::function<void(std::string_view)> cb)
      : m_kind(kind), m_fd(std::move(fd)), m_callback(std::move(cb)) {}
  ConsoleConfig::Output m_kind;
  UniqueFd m_fd;
  std::function<void(std::string_view)> m_callback;
  std::atomic<uint64_t> m_written{0};
  std::atomic<uint64_t> m_dropped{0};
};

}  // namespace minivmm
