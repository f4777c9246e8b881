// The C API's error and string plumbing: the errno table of minivmm.h, the per-thread last-error
// text, and the strings handed to callers. minivmm_last_error() and minivmm_free_string() live
// here because they are the other half of the same contract.
#include "vmm/capi/capi_call.hpp"

#include <cstdlib>
#include <cstring>

namespace minivmm::capi {
namespace {

// Per thread, as errno: a caller reads the error of its own last call, whatever other threads
// do meanwhile. `fallback` stands in when recording the message itself ran out of memory.
thread_local std::string t_last_error;
thread_local const char* t_fallback = nullptr;

}  // namespace

int to_errno(const std::error_code& code) noexcept {
  if (code.category() == minivmm_category()) {
    switch (static_cast<ErrorCode>(code.value())) {
      case ErrorCode::invalid_config:
        return -EINVAL;
      case ErrorCode::invalid_image:
        return -ENOEXEC;
      case ErrorCode::unsupported:
        return -ENOTSUP;
      case ErrorCode::guest_layout:
        return -E2BIG;
      case ErrorCode::timeout:
        return -ETIMEDOUT;
      case ErrorCode::invalid_state:
        return -EBUSY;
    }
    return -EIO;
  }
  if ((code.category() == std::system_category() || code.category() == std::generic_category()) &&
      code.value() > 0)
    return -code.value();
  return -EIO;
}

void set_last_error(std::string_view function, std::string_view message) noexcept {
  try {
    t_last_error.assign(function);
    t_last_error.append(": ");
    t_last_error.append(message);
    t_fallback = nullptr;
  } catch (...) {
    t_fallback = "out of memory while recording the last error";
  }
}

char* dup_string(std::string_view s) {
  auto* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p == nullptr) throw std::bad_alloc();
  std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return p;
}

int CapiCall::fail(const Error& error) noexcept {
  int code = to_errno(error.code());
  try {
    set_last_error(m_function, error.message());
  } catch (...) {  // message() allocates
    set_last_error(m_function, error.context());
  }
  return code;
}

int CapiCall::null_argument(std::string_view what) noexcept {
  try {
    return fail(-EINVAL, std::string(what) + " is NULL");
  } catch (...) {
    return fail(-EINVAL, what);
  }
}

}  // namespace minivmm::capi

extern "C" {

const char* minivmm_last_error(void) {
  using namespace minivmm::capi;
  return t_fallback != nullptr ? t_fallback : t_last_error.c_str();
}

void minivmm_free_string(char* s) {
  std::free(s);
}

}  // extern "C"
