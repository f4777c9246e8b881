// Error and Result: the one way host-side failures travel in minivmm. An Error carries an
// std::error_code (errno or our own ErrorCode) plus context text that names the operation and its
// arguments, e.g. "KVM_SET_USER_MEMORY_REGION slot=1 gpa=0x100000: Invalid argument". Guest
// misbehaviour is not an Error: devices absorb it (HOSTILE-GUEST.md). Our own invariant violations
// use MINIVMM_ASSERT, which aborts with a message and must never depend on guest-controlled values.
#pragma once

#include <cerrno>
#include <string>
#include <system_error>
#include <utility>

#include <fmt/format.h>
#include <tl/expected.hpp>

namespace minivmm {

/// minivmm's own error categories, for failures that have no errno.
enum class ErrorCode {
  invalid_config = 1,  ///< configuration rejected before anything was created
  invalid_image,       ///< kernel/initrd/disk image malformed or unsupported
  unsupported,         ///< the host (KVM) lacks a capability we rely on
  guest_layout,        ///< an object does not fit the guest memory layout
  timeout,             ///< a bounded wait expired
  invalid_state,       ///< a call made in a lifecycle state that does not allow it
};

const std::error_category& minivmm_category() noexcept;

inline std::error_code make_error_code(ErrorCode e) noexcept {
  return {static_cast<int>(e), minivmm_category()};
}

/// A failure: a code plus human-readable context naming what was attempted.
class Error {
 public:
  Error(std::error_code code, std::string context) : m_code(code), m_context(std::move(context)) {}

  const std::error_code& code() const noexcept { return m_code; }
  const std::string& context() const noexcept { return m_context; }
  /// "context: strerror-like message" (or just the context for our own categories whose message
  /// would only repeat it).
  std::string message() const;

 private:
  std::error_code m_code;
  std::string m_context;
};

template <typename T>
using Result = tl::expected<T, Error>;

/// An Error from the current errno, with formatted context.
template <typename... Args>
tl::unexpected<Error> errno_error(fmt::format_string<Args...> f, Args&&... args) {
  int e = errno;
  return tl::unexpected(Error(std::error_code(e, std::system_category()),
                              fmt::format(f, std::forward<Args>(args)...)));
}

/// An Error from an explicit errno value (for APIs that return -errno, like io_uring).
template <typename... Args>
tl::unexpected<Error> errno_error_value(int e, fmt::format_string<Args...> f, Args&&... args) {
  return tl::unexpected(Error(std::error_code(e, std::system_category()),
                              fmt::format(f, std::forward<Args>(args)...)));
}

/// An Error of one of minivmm's own codes, with formatted context.
template <typename... Args>
tl::unexpected<Error> make_error(ErrorCode c, fmt::format_string<Args...> f, Args&&... args) {
  return tl::unexpected(Error(make_error_code(c), fmt::format(f, std::forward<Args>(args)...)));
}

/// Prefixes more context to an error while propagating it ("loading kernel: <inner>").
inline Error with_context(Error e, const std::string& outer) {
  return Error(e.code(), outer + ": " + e.context());
}

[[noreturn]] void assert_fail(const char* expr, const char* file, int line, const char* msg);

}  // namespace minivmm

template <>
struct std::is_error_code_enum<minivmm::ErrorCode> : std::true_type {};

/// Our own invariant; aborts with a message. Never use on guest-controlled values.
#define MINIVMM_ASSERT(expr, msg) \
  ((expr) ? (void)0 : ::minivmm::assert_fail(#expr, __FILE__, __LINE__, (msg)))

/// Propagates the error of a Result-returning expression; yields its value otherwise.
#define MINIVMM_TRY(var, expr)                                      \
  auto var##_result_ = (expr);                                      \
  if (!var##_result_) return tl::unexpected(var##_result_.error()); \
  auto var = std::move(*var##_result_)

/// Propagates the error of a Result<void>-returning expression.
#define MINIVMM_TRY_VOID(expr)                                    \
  do {                                                            \
    auto try_result_ = (expr);                                    \
    if (!try_result_) return tl::unexpected(try_result_.error()); \
  } while (0)
