// Mapping of errors and exit reasons to the documented exit codes.
#include "vmm/cli/exit_codes.hpp"

namespace minivmm::cli {

int exit_code_for(const Error& e) {
  if (&e.code().category() == &minivmm_category()) {
    switch (static_cast<ErrorCode>(e.code().value())) {
      case ErrorCode::invalid_config:
      case ErrorCode::invalid_image:
      case ErrorCode::guest_layout:
        return kExitBadConfig;
      default:
        return kExitHostFailure;
    }
  }
  // errno failures: a missing or unreadable image path is the user's input; the rest is the host.
  int v = e.code().value();
  if (v == ENOENT || v == EACCES || v == EISDIR || v == ENOTDIR) return kExitBadConfig;
  return kExitHostFailure;
}

int exit_code_for(const ExitStatus& s) {
  switch (s.reason) {
    case ExitReason::guest_reset:
    case ExitReason::guest_shutdown:
      return kExitGuestDone;
    case ExitReason::triple_fault:
      return kExitTripleFault;
    case ExitReason::internal_error:
      return kExitInternalError;
    case ExitReason::stopped_by_host:
    case ExitReason::graceful_stop_timeout:  // the command stops only on a signal
      return kExitSignalBase;
  }
  return kExitInternalError;
}

}  // namespace minivmm::cli
