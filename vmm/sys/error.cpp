// Implementation of Error formatting, the minivmm error category and the assert handler.
#include "vmm/sys/error.hpp"

#include <cstdio>
#include <cstdlib>

namespace minivmm {
namespace {

class MinivmmCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "minivmm"; }
  std::string message(int c) const override {
    switch (static_cast<ErrorCode>(c)) {
      case ErrorCode::invalid_config:
        return "invalid configuration";
      case ErrorCode::invalid_image:
        return "invalid image";
      case ErrorCode::unsupported:
        return "not supported by this host";
      case ErrorCode::guest_layout:
        return "does not fit guest memory";
      case ErrorCode::timeout:
        return "timed out";
      case ErrorCode::invalid_state:
        return "invalid state";
    }
    return "unknown minivmm error";
  }
};

}  // namespace

const std::error_category& minivmm_category() noexcept {
  static const MinivmmCategory category;
  return category;
}

std::string Error::message() const {
  if (&m_code.category() == &minivmm_category()) return m_context;
  return fmt::format("{}: {}", m_context, m_code.message());
}

void assert_fail(const char* expr, const char* file, int line, const char* msg) {
  std::fprintf(stderr, "minivmm: internal error: %s (%s) at %s:%d\n", msg, expr, file, line);
  std::abort();
}

}  // namespace minivmm
