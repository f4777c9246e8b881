// The `minivmm` command's exit codes (documented in README.md "Exit codes"). Scripts and the e2e
// harness rely on them; change them only together with the README.
#pragma once

#include <minivmm/machine.hpp>

namespace minivmm::cli {

inline constexpr int kExitGuestDone = 0;    ///< the guest reset or powered off
inline constexpr int kExitUsage = 2;        ///< bad command-line arguments
inline constexpr int kExitBadConfig = 3;    ///< configuration, kernel, initrd or cmdline refused
inline constexpr int kExitHostFailure = 4;  ///< /dev/kvm missing, capability missing, ENOMEM...
inline constexpr int kExitTripleFault = 5;  ///< the guest triple-faulted
inline constexpr int kExitInternalError =
    6;  ///< KVM internal error / emulation failure / VMM error
inline constexpr int kExitSignalBase =
    128;  ///< stopped by signal N: 128 + N (130 SIGINT, 143 SIGTERM)

/// Exit code for a setup error.
int exit_code_for(const Error& e);
/// Exit code for a finished run (signals are handled by the caller).
int exit_code_for(const ExitStatus& s);

}  // namespace minivmm::cli
