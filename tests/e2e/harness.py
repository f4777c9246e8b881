"""Shared pieces of the minivmm e2e scenarios: the L2 VMM command line for both VMMs
(l2_command), the scenario record (Scenario), the parsed output of one scenario (ScenarioRun,
parse_scenarios) and the assertion helpers that raise Fail with quoted log lines. The scenario
lists live in e2e_test.py (boot), scenarios_disk.py, scenarios_net.py and scenarios_fs.py; the
driver is e2e_test.py. Python standard library only."""
import os
import re
import shlex

CACHE = os.environ.get("MINIVMM_CACHE", os.path.expanduser("~/.cache/minivmm"))
GUEST_INITRD = "/payload/guest.cpio.gz"
VMLINUX = "/payload/vmlinux"
BZIMAGE = "/payload/bzImage"
BASE_CMDLINE = "console=ttyS0 reboot=k panic=-1"


class Fail(Exception):
    """A scenario assertion failed; the message says why and quotes log lines."""


# ---------------------------------------------------------------------------------------------
# L2 VMM command lines
# ---------------------------------------------------------------------------------------------
def l2_command(vmm, kernel, memory=256, vcpus=None, cmdline=BASE_CMDLINE, initrd=GUEST_INITRD,
               extra_minivmm=(), extra_qemu=(), rootfs=None, disks=()):
    """Shell command (string) starting the L2 guest with `vmm` ('minivmm' or 'qemu') in L1.

    vcpus=None leaves minivmm at its default (1). extra_* are appended as-is (for net...).
    rootfs=(path, ro): the first disk (/dev/vda) is the root filesystem (minivmm `--rootfs`, which
    appends `root=/dev/vda rw|ro`; QEMU gets the same words appended) and no initrd is passed.
    disks=[(path, ro[, serial])]: raw disks after the rootfs, /dev/vda, /dev/vdb... in order
    (minivmm `--disk PATH[,ro][,serial=ID]`, QEMU `virtio-blk-device`). QEMU's drives use
    werror=report,rerror=report: its default (werror=enospc) pauses the VM on ENOSPC, whereas
    minivmm reports IOERR to the guest; both use the host page cache (no O_DIRECT).
    stdin is /dev/null so the VMM never touches L1's console input.
    """
    if rootfs is not None:
        initrd = None
    disks = [tuple(d) + (None,) * (3 - len(d)) for d in disks]
    if vmm == "minivmm":
        argv = ["/payload/minivmm", "run", "--kernel", kernel]
        if initrd:
            argv += ["--initrd", initrd]
        argv += ["--memory", str(memory)]
        if vcpus is not None:
            argv += ["--vcpus", str(vcpus)]
        if rootfs is not None:
            argv += ["--rootfs", rootfs[0] + (",ro" if rootfs[1] else "")]
        for path, ro, serial in disks:
            argv += ["--disk", path + (",ro" if ro else "") + (f",serial={serial}" if serial else "")]
        argv += ["--console", "stdio", "--cmdline", cmdline, *extra_minivmm]
    elif vmm == "qemu":
        argv = ["/payload/qemu-system-x86_64", "-L", "/payload/qemu-roms",
                # acpi=off: the guest kernel has no ACPI, so QEMU must list the virtio-mmio
                # devices on the kernel cmdline (virtio_mmio.device=...), which it only does
                # without ACPI; it keeps -device order (first drive = /dev/vda).
                "-M", "microvm,x-option-roms=off,rtc=off,isa-serial=on,acpi=off", "-enable-kvm",
                "-cpu", "host", "-m", str(memory), "-smp", str(vcpus or 1), "-nodefaults",
                "-no-user-config", "-nographic", "-serial", "stdio", "-no-reboot",
                # microvm has no i8042 of its own: add one so `reboot=k` resets (and -no-reboot
                # exits) as with minivmm; without it the kernel spins for minutes in kb_wait().
                "-device", "i8042", "-kernel", kernel]
        if initrd:
            argv += ["-initrd", initrd]
        drives = ([(rootfs[0], rootfs[1], None)] if rootfs is not None else []) + disks
        for i, (path, ro, serial) in enumerate(drives):
            argv += ["-drive", f"id=d{i},file={path},format=raw,if=none,werror=report,"
                     f"rerror=report" + (",readonly=on" if ro else ""),
                     "-device", f"virtio-blk-device,drive=d{i}" +
                     (f",serial={serial}" if serial else "")]
        if rootfs is not None:
            cmdline += " root=/dev/vda " + ("ro" if rootfs[1] else "rw")
        argv += ["-append", cmdline, *extra_qemu]
    else:
        raise ValueError(f"unknown vmm {vmm}")
    return " ".join(shlex.quote(a) for a in argv) + " </dev/null"


# ---------------------------------------------------------------------------------------------
# Scenario results and assertion helpers
# ---------------------------------------------------------------------------------------------
class ScenarioRun:
    """Output of one scenario in the L1 log."""

    def __init__(self, name):
        self.name = name
        self.lines = []        # console lines between E2E-BEGIN and E2E-END
        self.rc = None         # exit code from E2E-END (None: never ended)
        self.began = False
        self.t_begin = None
        self.t_end = None
        self.markers = {}      # MINIVMM-E2E key -> value ("" for bare markers like init-started)
        self.boot_timer_ms = None  # minivmm's "boot-timer: value=.. since_exec=Nms" (port 0x440)
        self.first_attempt = None  # the ScenarioRun of an attempt that hung and was retried

    def hang_lines(self):
        """The E2E-HANG lines l1/hang_report.sh printed (what the processes were doing)."""
        return [line for line in self.lines if "E2E-HANG" in line]

    @property
    def duration(self):
        if self.t_begin is None or self.t_end is None:
            return None
        return self.t_end - self.t_begin

    def tail(self, n=12):
        shown = self.lines[-n:]
        if not shown:
            return "    (no output)"
        return "\n".join("    | " + line for line in shown)

    def marker_lines(self):
        return [line for line in self.lines if "MINIVMM-E2E" in line]

    def quote_markers(self):
        shown = self.marker_lines()
        return "\n".join("    | " + line for line in shown) if shown else "    (no MINIVMM-E2E lines)"


_MARKER = re.compile(r"MINIVMM-E2E ([A-Za-z0-9_.:-]+)(?:=(.*))?$")
_BOOT_TIMER = re.compile(r"boot-timer: value=\S+ since_exec=([0-9.]+)ms")


def parse_scenarios(lines, names):
    """Splits (t, line) pairs from L1's console into ScenarioRun objects by name."""
    runs = {n: ScenarioRun(n) for n in names}
    current = None
    for t, line in lines:
        m = re.search(r"E2E-BEGIN (\S+)", line)
        if m and m.group(1) in runs:
            if runs[m.group(1)].began:  # after E2E-RETRY: the new attempt replaces the hung one
                retry = ScenarioRun(m.group(1))
                retry.first_attempt = runs[m.group(1)]
                runs[m.group(1)] = retry
            current = runs[m.group(1)]
            current.began, current.t_begin = True, t
            continue
        m = re.search(r"E2E-END (\S+) rc=(-?\d+)", line)
        if m and m.group(1) in runs:
            run = runs[m.group(1)]
            run.rc, run.t_end = int(m.group(2)), t
            current = None
            continue
        if current is not None:
            current.lines.append(line)
            bt = _BOOT_TIMER.search(line)
            if bt and current.boot_timer_ms is None:
                current.boot_timer_ms = float(bt.group(1))
            mm = _MARKER.search(line)
            if mm:
                current.markers.setdefault(mm.group(1), mm.group(2) if mm.group(2) is not None else "")
    return runs


def expect_marker(run, key):
    if key not in run.markers:
        raise Fail(f"no 'MINIVMM-E2E {key}' marker (VMM rc={run.rc}); last output lines:\n"
                   f"{run.tail()}")
    return run.markers[key]


def expect_rc(run, want=0, what="VMM"):
    if run.rc != want:
        raise Fail(f"{what} exit code {run.rc}, expected {want}; last output lines:\n{run.tail()}")


def check_boot(run):
    """The guest reached /init and finished it, and the guest's reboot ended the VMM with rc 0."""
    expect_marker(run, "init-started")
    expect_marker(run, "init-done")
    expect_rc(run, 0, "VMM (after the guest's `reboot -f`)")


def check_nproc(want):
    def check(run):
        check_boot(run)
        got = expect_marker(run, "nproc")
        if got != str(want):
            raise Fail(f"guest nproc={got}, expected {want}:\n{run.quote_markers()}")
    return check


def check_memory_and_cmdline(mem_mib, cmdline):
    def check(run):
        check_boot(run)
        got = expect_marker(run, "memtotal_kb")
        lo, hi = int(mem_mib * 1024 * 0.8), mem_mib * 1024
        if not got.isdigit() or not lo <= int(got) <= hi:
            raise Fail(f"guest memtotal_kb={got}, expected {lo}..{hi} for {mem_mib} MiB:\n"
                       f"{run.quote_markers()}")
        seen = expect_marker(run, "cmdline")
        if seen.strip() != cmdline:
            raise Fail(f"guest /proc/cmdline differs from the cmdline passed\n"
                       f"    passed: {cmdline!r}\n    seen:   {seen!r}\n{run.quote_markers()}")
    return check


def check_reboot(run):
    """Explicit: init-done is printed right before `reboot -f`; the VMM must then exit 0 by itself
    (not be killed by the scenario timeout, which reports rc=124)."""
    expect_marker(run, "init-done")
    if run.rc == 124:
        raise Fail("VMM did not exit after the guest's `reboot -f` (scenario timeout); "
                   f"last output lines:\n{run.tail()}")
    expect_rc(run, 0, "VMM (after the guest's `reboot -f`)")
    if "error" in run.markers:
        raise Fail(f"guest reported an error:\n{run.quote_markers()}")


def check_sandbox(run):
    """The quick-start sandbox ran its script and the guest's reboot ended the VMM with rc 0."""
    expect_marker(run, "sandbox")
    expect_marker(run, "init-done")
    expect_rc(run, 0, "VMM (after the guest's `reboot -f`)")


L1_SETUP_ERRORS = {90: "mkfs.ext4 of the rootfs image failed in L1",
                   91: "mounting the 16 MiB tmpfs in L1 failed"}


def check_l1_setup(run):
    if run.rc in L1_SETUP_ERRORS:
        raise Fail(f"{L1_SETUP_ERRORS[run.rc]} (rc={run.rc}); last output lines:\n{run.tail()}")


EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def expect_equal(run, key_guest, key_l1, what):
    g, h = expect_marker(run, key_guest), expect_marker(run, key_l1)
    if g == EMPTY_SHA256:
        raise Fail(f"{what}: {key_guest} is the sha256 of no data at all:\n{run.quote_markers()}")
    if not g or g != h:
        raise Fail(f"{what}: {key_guest}={g!r} but {key_l1}={h!r}:\n{run.quote_markers()}")


def expect_value(run, key, want, what):
    got = expect_marker(run, key)
    if got != want:
        raise Fail(f"{what}: {key}={got!r}, expected {want!r}:\n{run.quote_markers()}")


def l1_mark_helpers():
    """Shell functions every L1 snippet may use: mark KEY VALUE prints an L1-side marker
    (printf, so `set -x` traces never look like markers); wait_for PATTERN FILE SECONDS PID
    waits until FILE contains PATTERN (rc 0), PID exited (rc 1) or the time ran out (rc 2)."""
    return r"""
mark() { printf 'MINIVMM-E2E %s=%s\n' "$1" "$2"; }
wait_for() {
  case $- in *x*) _x=-x ;; *) _x=+x ;; esac
  set +x
  _end=$(($(date +%s) + $3))
  while ! grep -q "$1" "$2" 2>/dev/null; do
    if ! kill -0 "$4" 2>/dev/null; then set $_x; return 1; fi
    if [ "$(date +%s)" -ge $_end ]; then set $_x; return 2; fi
    sleep 0.1
  done
  set $_x
  return 0
}
"""


def vmm_background(cmd, limit):
    """L1 snippet lines starting the VMM command `cmd` in the background with its console in
    $D/console.log (for wait_for), killed after `limit` seconds; $pid ends when the VMM does.
    Pair with VMM_FINISH, which prints the console (whole lines, never interleaved with L1's own
    output) and exits with the VMM's exit code. At the limit, /payload/hang-report first appends
    what the VMM's threads are doing to the console log (and the scenario is retried once)."""
    return f"""
: >"$D/console.log"
(
  {cmd} >"$D/console.log" 2>&1 &
  vmm=$!
  ( trap 'kill $nap 2>/dev/null; exit 0' TERM
    sleep {int(limit)} & nap=$!; wait $nap
    sh /payload/hang-report $vmm >>"$D/console.log" 2>&1; kill -KILL $vmm ) &
  dog=$!
  wait $vmm; echo $? >"$D/vmm.rc"
  kill $dog 2>/dev/null
) &
pid=$!
"""


VMM_FINISH = r"""
wait $pid
cat "$D/console.log"
rc=$(cat "$D/vmm.rc" 2>/dev/null || echo 99)
exit $rc
"""


class Scenario:
    """name, shell(vmm) -> L1 snippet, check(run) raising Fail, timeout in seconds (enforced in
    L1), and the VMMs the scenario applies to (e.g. vsock is minivmm-only)."""

    def __init__(self, name, shell, check, timeout=60, vmms=("minivmm", "qemu")):
        self.name, self.shell, self.check, self.timeout = name, shell, check, timeout
        self.vmms = vmms
