#!/usr/bin/env python3
"""Boots the e2e harness's L1 machine in QEMU TCG and streams its serial console.

L1 is a Debian kernel with `-cpu EPYC,+svm` (so kvm_amd gives it a real /dev/kvm) and the initramfs
built by l1/build_l1.sh. This module starts QEMU with a hard timeout (QEMU is killed and the run
reported as timed out, never hung), writes every console line to a log file, timestamps each line
with host monotonic time, and prints progress lines to stderr: `e2e: L1 booting`,
`e2e: L1 ready after Ns`, and begin/end of every scenario (E2E-BEGIN / E2E-END lines).

Used by e2e_test.py; also runnable alone:
    run_l1.py --kernel DIR/vmlinuz --initrd DIR/l1.cpio.gz [--log PATH] [--timeout 900]
Python standard library only.
"""
import argparse
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time

QEMU = "qemu-system-x86_64"
L1_APPEND = "console=ttyS0 reboot=t panic=-1 quiet"
# Terminal control sequences SeaBIOS and the kernel print (ESC c, ESC [ ... letter).
_ANSI = re.compile(r"\x1b(?:\[[0-9;?]*[A-Za-z]|[A-Za-z])")


def clean_line(raw):
    """Decodes one console line and removes CR and terminal escape sequences."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return _ANSI.sub("", text).replace("\r", "").rstrip("\n")


class L1Result:
    """What one L1 boot produced: (seconds since start, line) pairs, exit status, timings."""

    def __init__(self):
        self.lines = []           # list of (t, text), t in seconds since QEMU started
        self.returncode = None    # QEMU exit code (None if killed on timeout)
        self.timed_out = False
        self.elapsed = 0.0
        self.ready_after = None   # seconds to the L1-READY line
        self.l1_error = None      # first L1-ERROR line, if any
        self.stuck_scenario = None  # scenario whose E2E-END never came (L1 unresponsive)


def l1_command(kernel, initrd, smp=2, memory_mb=2048, qemu=QEMU, extra=(), append_extra=""):
    return [qemu, "-M", "q35", "-cpu", "EPYC,+svm", "-accel", "tcg", "-smp", str(smp),
            "-m", str(memory_mb), "-nodefaults", "-nographic", "-serial", "stdio", "-no-reboot",
            "-kernel", kernel, "-initrd", initrd,
            "-append", f"{L1_APPEND} {append_extra}".strip(), *extra]


def progress(msg):
    print(f"e2e: {msg}", file=sys.stderr, flush=True)


def boot_l1(kernel, initrd, log_path, timeout, on_line=None, cmd=None, scenario_limits=None,
            grace=60):
    """Runs L1 to completion or until `timeout` seconds pass; returns an L1Result.

    scenario_limits maps a scenario name to its in-L1 timeout: if its E2E-END line has not come
    `grace` seconds after that, L1 itself is wedged (its own watchdog did not fire), so QEMU is
    killed right away instead of waiting for the total timeout.
    """
    scenario_limits = scenario_limits or {}
    cmd = cmd or l1_command(kernel, initrd)
    res = L1Result()
    lines_q = queue.Queue()
    t0 = time.monotonic()
    progress(f"L1 booting (timeout {timeout:.0f}s, log {log_path})")
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)

    def reader():
        for raw in proc.stdout:
            lines_q.put(raw)
        lines_q.put(None)

    threading.Thread(target=reader, daemon=True).start()

    # QEMU runs in its own session (so it can be killed as a group): turn SIGTERM/SIGHUP into an
    # exception so the `finally` below kills it even when the driver itself is terminated.
    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    old_handlers = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP):
            old_handlers[sig] = signal.signal(sig, on_signal)
    begun = {}
    current = None  # (scenario name, deadline in seconds since t0) while one is running
    with open(log_path, "w", encoding="utf-8") as log:
        log.write("# " + " ".join(cmd) + "\n")
        try:
            while True:
                now = time.monotonic()
                remaining = t0 + timeout - now
                if remaining <= 0:
                    res.timed_out = True
                    break
                if current and now - t0 > current[1]:
                    res.timed_out = True
                    res.stuck_scenario = current[0]
                    progress(f"scenario {current[0]}: no E2E-END {grace}s after its "
                             f"{scenario_limits[current[0]]:.0f}s timeout: L1 is unresponsive")
                    break
                try:
                    raw = lines_q.get(timeout=min(remaining, 1.0))
                except queue.Empty:
                    continue
                if raw is None:
                    break
                t = time.monotonic() - t0
                text = clean_line(raw)
                res.lines.append((t, text))
                log.write(f"[{t:8.2f}] {text}\n")
                log.flush()
                if "L1-READY" in text and res.ready_after is None:
                    res.ready_after = t
                    progress(f"L1 ready after {t:.1f}s")
                elif "L1-ERROR" in text and res.l1_error is None:
                    res.l1_error = text[text.index("L1-ERROR"):]
                    progress(f"L1 error: {res.l1_error}")
                m = re.search(r"E2E-BEGIN (\S+)", text)
                if m:
                    begun[m.group(1)] = t
                    if m.group(1) in scenario_limits:
                        current = (m.group(1), t + scenario_limits[m.group(1)] + grace)
                    progress(f"scenario {m.group(1)} begin")
                m = re.search(r"E2E-END (\S+) rc=(-?\d+)", text)
                if m:
                    current = None
                    dt = t - begun.get(m.group(1), t)
                    progress(f"scenario {m.group(1)} end rc={m.group(2)} ({dt:.1f}s)")
                if on_line:
                    on_line(t, text)
        finally:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            for sig, handler in old_handlers.items():
                signal.signal(sig, handler)
            res.elapsed = time.monotonic() - t0
            if res.stuck_scenario:
                log.write(f"# L1 unresponsive in scenario {res.stuck_scenario}: QEMU killed\n")
                progress(f"L1 killed after {res.elapsed:.0f}s (stuck in {res.stuck_scenario})")
            elif res.timed_out:
                log.write(f"# TIMEOUT after {timeout:.0f}s: QEMU killed\n")
                progress(f"L1 TIMEOUT after {timeout:.0f}s: QEMU killed")
            else:
                res.returncode = proc.returncode
                log.write(f"# QEMU exited rc={proc.returncode} after {res.elapsed:.1f}s\n")
                progress(f"L1 exited rc={proc.returncode} after {res.elapsed:.1f}s")
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernel", required=True, help="L1 vmlinuz (from build_l1.sh)")
    ap.add_argument("--initrd", required=True, help="L1 initramfs (from build_l1.sh)")
    ap.add_argument("--log", default="l1-serial.log")
    ap.add_argument("--timeout", type=float, default=900)
    args = ap.parse_args()
    res = boot_l1(args.kernel, args.initrd, args.log, args.timeout)
    ok = not res.timed_out and res.returncode == 0 and res.l1_error is None
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
