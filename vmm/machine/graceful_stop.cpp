// Machine::request_graceful_stop: asks the guest to shut down the way Firecracker's
// SendCtrlAltDel does, by pressing Ctrl-Alt-Del on the i8042 keyboard, and arms a deadline on the
// event loop that stops the machine hard (ExitReason::graceful_stop_timeout) if the guest is still
// running then. Linux's default Ctrl-Alt-Del action restarts (with reboot=k through the i8042:
// ExitReason::guest_reset); an init that disabled it gets SIGINT and decides itself.
#include <cerrno>

#include <boost/asio/post.hpp>

#include "vmm/machine/machine_impl.hpp"

namespace minivmm {

Result<void> Machine::Impl::request_graceful_stop(std::chrono::milliseconds deadline) {
  if (deadline.count() < 0)
    return make_error(ErrorCode::invalid_config, "request_graceful_stop: negative deadline {} ms",
                      deadline.count());
  MINIVMM_TRY_VOID(lifecycle.apply(LifecycleEvent::graceful_stop, [&](MachineState, MachineState) {
    if (graceful_pending)
      return Result<void>(make_error(ErrorCode::invalid_state,
                                     "request_graceful_stop: a graceful stop is already "
                                     "pending"));
    // Keys first: with no room for them the request fails and nothing is armed.
    if (!i8042->trigger_ctrl_alt_del())
      return Result<void>(
          errno_error_value(ENOBUFS,
                            "request_graceful_stop: the i8042 keyboard buffer is full (the guest "
                            "does not read its keyboard)"));
    graceful_pending = true;
    graceful_timer = std::make_unique<boost::asio::steady_timer>(loop.io_context());
    return Result<void>{};
  }));
  boost::asio::steady_timer* timer = graceful_timer.get();
  // The timer lives until ~Impl (after the loop thread ended), so the raw pointers stay valid for
  // as long as the handler can run.
  boost::asio::post(loop.io_context(), [this, timer, deadline] {
    timer->expires_after(deadline);
    timer->async_wait([this, deadline](const boost::system::error_code& ec) {
      if (ec) return;  // cancelled: the machine is going away
      stop.stop(
          ExitReason::graceful_stop_timeout,
          fmt::format("the guest did not stop within {} ms of Ctrl-Alt-Del", deadline.count()));
    });
  });
  return {};
}

}  // namespace minivmm
