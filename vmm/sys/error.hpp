// The internal side of errors: helpers that build an Error from errno or one of our codes with
// fmt-formatted context, the MINIVMM_TRY propagation macros and MINIVMM_ASSERT for our own
// invariants (aborts with a message; never used on guest-controlled values). The Error and Result
// types themselves are public (include/minivmm/error.hpp); these helpers are not, so embedders
// need neither fmt nor our macros.
#pragma once

#include <cerrno>

#include <fmt/format.h>
#include <minivmm/error.hpp>

namespace minivmm {

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
