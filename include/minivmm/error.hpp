// Error and Result: the one way host-side failures travel in minivmm. An Error carries an
// std::error_code (errno or our own ErrorCode) plus context text that names the operation and its
// arguments, e.g. "KVM_SET_USER_MEMORY_REGION slot=1 gpa=0x100000: Invalid argument". Guest
// misbehaviour is not an Error: devices absorb it (HOSTILE-GUEST.md). This public header holds
// only the types; the helpers that build errors (errno_error, make_error, MINIVMM_TRY) and the
// invariant assert are internal (vmm/sys/error.hpp).
#pragma once

#include <string>
#include <system_error>
#include <utility>

#include <tl/expected.hpp>

#include <minivmm/export.h>

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

MINIVMM_API const std::error_category& minivmm_category() noexcept;

inline std::error_code make_error_code(ErrorCode e) noexcept {
  return {static_cast<int>(e), minivmm_category()};
}

/// A failure: a code plus human-readable context naming what was attempted.
class MINIVMM_API Error {
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

}  // namespace minivmm

template <>
struct std::is_error_code_enum<minivmm::ErrorCode> : std::true_type {};
