// The C API's boundary discipline (include/minivmm/minivmm.h): CapiCall runs one C function's
// body so that no exception escapes, maps minivmm::Error codes to the negative errno values of
// the header's table, and records the thread-local last-error message prefixed with the C
// function's name. Also the handle structs and the malloc'd strings handed to callers. It knows
// nothing about machines or configs beyond holding them.
#pragma once

#include <cerrno>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <system_error>

#include <minivmm/minivmm.h>
#include <minivmm/config.hpp>
#include <minivmm/error.hpp>
#include <minivmm/machine.hpp>

struct minivmm_config {
  minivmm::MachineConfig config;
};

struct minivmm_machine {
  std::unique_ptr<minivmm::Machine> machine;
};

namespace minivmm::capi {

/// The header's return code for an error code: our own categories by the table, system errors as
/// -errno, anything else -EIO.
int to_errno(const std::error_code& code) noexcept;

/// Records `message` as this thread's last error (never throws: on allocation failure a fixed
/// "out of memory" text takes its place).
void set_last_error(std::string_view function, std::string_view message) noexcept;

/// A malloc'd NUL-terminated copy for a `char **out` result (freed by minivmm_free_string).
/// Throws std::bad_alloc, which CapiCall::run turns into -ENOMEM.
char* dup_string(std::string_view s);

/// One call of a C API function named `function` (a string literal).
class CapiCall {
 public:
  explicit CapiCall(const char* function) noexcept : m_function(function) {}

  /// Runs `body` (returning int); exceptions become -ENOMEM or -EIO with the last error set.
  template <typename Body>
  int run(Body&& body) noexcept {
    try {
      return body();
    } catch (const std::bad_alloc&) {
      return fail(-ENOMEM, "out of memory");
    } catch (const std::exception& e) {
      return fail(-EIO, e.what());
    } catch (...) {
      return fail(-EIO, "unknown internal exception");
    }
  }

  /// Records "function: message" and returns `code`.
  int fail(int code, std::string_view message) noexcept {
    set_last_error(m_function, message);
    return code;
  }
  /// Records the error's message and returns its code from the table.
  int fail(const Error& error) noexcept;
  /// -EINVAL for a NULL argument named `what`.
  int null_argument(std::string_view what) noexcept;

  /// 0 on success, else fail(error).
  int check(const Result<void>& result) noexcept { return result ? 0 : fail(result.error()); }

 private:
  const char* m_function;
};

/// Runs `body(call, *handle)` as `function`, after rejecting a NULL handle (named `what`).
template <typename Handle, typename Body>
int with_handle(const char* function, Handle* handle, std::string_view what, Body&& body) noexcept {
  CapiCall call(function);
  return call.run([&]() -> int {
    if (handle == nullptr) return call.null_argument(what);
    return body(call, *handle);
  });
}

}  // namespace minivmm::capi
