#!/usr/bin/env python3
"""minivmm end-to-end tests: real Linux guests (L2) booted by minivmm inside a nested KVM machine.

The host's /dev/kvm is PVM and cannot boot upstream Linux (see /work/shared/ENVIRONMENT.md), so
this driver builds (or reuses from ${MINIVMM_CACHE:-~/.cache/minivmm}) the guest kernel
(guest-kernel-config/build.sh), the guest initramfs (guest/build_initramfs.sh) and the L1 machine
(l1/build_l1.sh: Debian kernel + kvm_amd in QEMU TCG with -cpu EPYC,+svm), then boots L1 ONCE and
runs every selected scenario in it, sequentially, each as a shell snippet with its own timeout.
Each scenario's output is delimited on L1's console by `E2E-BEGIN <name>` and
`E2E-END <name> rc=<rc>`; the guest prints `MINIVMM-E2E key=value` markers (guest/init).

The L2 VMM is minivmm (`--vmm minivmm`, binary from `--minivmm PATH`) or, as a reference that
proves the harness, guest kernel and initramfs, QEMU microvm (`--vmm qemu`).

Usage:  tests/e2e/e2e_test.py [--vmm minivmm|qemu|minivmm,qemu] [--minivmm build/minivmm]
                              [--only NAME[,NAME]] [--timeout 900] [--keep-log PATH] [--list]
Prints `e2e: PASS <name>` / `e2e: FAIL <name>: <reason>` per scenario, then `N passed, M failed`;
exits non-zero on any failure or timeout. Python standard library only.

Adding a scenario: append a Scenario to SCENARIOS below: a name, a function returning the shell
snippet run inside L1 (use l2_command() to start the L2 VMM with the right flags for both VMMs),
and a check function that raises Fail with a message quoting the log lines. Payload files the
snippet needs go in /payload (see build_payload_args()).
"""
import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the checkout
import run_l1  # noqa: E402

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


# ---------------------------------------------------------------------------------------------
# virtio-blk scenarios: disk images are created inside L1 (on its tmpfs /tmp) at scenario time,
# the root filesystem with mkfs.ext4 -d from the guest tree (/payload/rootfs-tree.tar, made by
# guest/build_rootfs.sh --tar). L1-side results are printed as `MINIVMM-E2E l1-key=value` markers
# (printf, so `set -x` traces never look like markers) for check() to compare with the guest's.
# ---------------------------------------------------------------------------------------------
L1_DISK_HELPERS = r"""
mark() { printf 'MINIVMM-E2E %s=%s\n' "$1" "$2"; }
# mkrootfs IMG SIZE_MIB: sparse ext4 image of the guest tree (root owns everything inside L1).
mkrootfs() {
  rm -rf "$1.tree" "$1" && mkdir -p "$1.tree" && tar -xf /payload/rootfs-tree.tar -C "$1.tree" &&
  truncate -s "$2M" "$1" && /payload/mkfs.ext4 -q -F -L e2e-root -d "$1.tree" "$1" &&
  rm -rf "$1.tree"
}
# sha_head FILE MIB: sha256 of the first MIB MiB of FILE.
sha_head() { dd if="$1" bs=1M count="$2" 2>/dev/null | sha256sum | cut -d' ' -f1; }
# last_sector FILE: the last 512 bytes without NULs.
last_sector() { tail -c 512 "$1" | tr -d '\000'; }
"""


def disk_dir(vmm):
    """L1 work dir of a disk scenario ($D in its snippet); scenarios run one after the other."""
    return f"/tmp/e2e-disk-{vmm}"


def disk_snippet(vmm, body):
    """The L1 snippet: helpers, a fresh work dir $D = disk_dir(vmm), then `body`."""
    return f"{L1_DISK_HELPERS}\nD={disk_dir(vmm)}\nrm -rf \"$D\"; mkdir -p \"$D\"\n{body}\n"


def shell_rootfs(vmm):
    cmd = l2_command(vmm, VMLINUX, 256, cmdline=f"{BASE_CMDLINE} e2e.script=rootfs",
                     rootfs=(f"{disk_dir(vmm)}/rootfs.img", False))
    return disk_snippet(vmm, f"""
mkrootfs "$D/rootfs.img" 160 || {{ echo "E2E-L1 mkfs.ext4 failed"; exit 90; }}
{cmd}
rc=$?
/payload/e2fsck -fn "$D/rootfs.img" >"$D/fsck.log" 2>&1
mark l1-fsck-rc $?
sed 's/^/E2E-L1 e2fsck: /' "$D/fsck.log"
for f in small.txt random.bin; do
  /payload/debugfs -R "dump /data/$f $D/$f" "$D/rootfs.img" 2>"$D/debugfs.log" ||
    sed 's/^/E2E-L1 debugfs: /' "$D/debugfs.log"
done
mark l1-small-sha256 "$(sha256sum "$D/small.txt" 2>/dev/null | cut -d' ' -f1)"
mark l1-random-sha256 "$(sha256sum "$D/random.bin" 2>/dev/null | cut -d' ' -f1)"
mark l1-random-size "$(stat -c %s "$D/random.bin" 2>/dev/null)"
rm -rf "$D"
exit $rc""")


L1_SETUP_ERRORS = {90: "mkfs.ext4 of the rootfs image failed in L1",
                   91: "mounting the 16 MiB tmpfs in L1 failed"}


def check_l1_setup(run):
    if run.rc in L1_SETUP_ERRORS:
        raise Fail(f"{L1_SETUP_ERRORS[run.rc]} (rc={run.rc}); last output lines:\n{run.tail()}")


def expect_equal(run, key_guest, key_l1, what):
    g, h = expect_marker(run, key_guest), expect_marker(run, key_l1)
    if not g or g != h:
        raise Fail(f"{what}: {key_guest}={g!r} but {key_l1}={h!r}:\n{run.quote_markers()}")


def expect_value(run, key, want, what):
    got = expect_marker(run, key)
    if got != want:
        raise Fail(f"{what}: {key}={got!r}, expected {want!r}:\n{run.quote_markers()}")


def check_rootfs(run):
    check_l1_setup(run)
    check_boot(run)
    root = expect_marker(run, "root")
    if not root.endswith(":ext4:rw"):
        raise Fail(f"guest root is {root!r}, expected the ext4 image mounted rw "
                   f"(DEVICE:ext4:rw):\n{run.quote_markers()}")
    expect_value(run, "random-write", "ok", "guest dd of 64 MiB onto the rootfs")
    if "warning" in run.markers:
        raise Fail(f"guest warning (remount read-only before reboot):\n{run.quote_markers()}")
    fsck = expect_marker(run, "l1-fsck-rc")
    if fsck != "0":
        fl = [line for line in run.lines if "E2E-L1 e2fsck" in line]
        raise Fail(f"e2fsck -fn on the image after the run: rc={fsck}:\n" +
                   "\n".join("    | " + line for line in fl[-15:]))
    expect_equal(run, "small-sha256", "l1-small-sha256", "/data/small.txt (debugfs dump)")
    expect_equal(run, "random-size", "l1-random-size", "/data/random.bin size")
    expect_value(run, "random-size", str(64 << 20), "/data/random.bin size in the guest")
    expect_equal(run, "random-sha256", "l1-random-sha256", "/data/random.bin (debugfs dump)")


def shell_disk_ro(vmm):
    cmd = l2_command(vmm, VMLINUX, 256, cmdline=f"{BASE_CMDLINE} e2e.script=disk-ro",
                     rootfs=(f"{disk_dir(vmm)}/rootfs.img", False),
                     disks=[(f"{disk_dir(vmm)}/ro.img", True, "e2e-ro")])
    return disk_snippet(vmm, f"""
mkrootfs "$D/rootfs.img" 64 || {{ echo "E2E-L1 mkfs.ext4 failed"; exit 90; }}
dd if=/dev/urandom of="$D/ro.img" bs=1M count=8 2>/dev/null
mark l1-ro-sha256-before "$(sha256sum "$D/ro.img" | cut -d' ' -f1)"
{cmd} &
pid=$!
# How the VMM opened ro.img: the octal `flags:` of every fd of it in /proc/PID/fdinfo.
set +x
flags=
while kill -0 $pid 2>/dev/null && [ -z "$flags" ]; do
  for fd in /proc/$pid/fd/*; do
    [ "$(readlink "$fd" 2>/dev/null)" = "$D/ro.img" ] || continue
    flags="$flags$(awk '/^flags:/ {{ print $2 }}' "/proc/$pid/fdinfo/${{fd##*/}}"),"
  done
  sleep 0.2
done
set -x
mark l1-ro-open-flags "${{flags:-none}}"
wait $pid
rc=$?
mark l1-ro-sha256-after "$(sha256sum "$D/ro.img" | cut -d' ' -f1)"
mark l1-ro-size-after "$(stat -c %s "$D/ro.img")"
rm -rf "$D"
exit $rc""")


def check_disk_ro(run):
    check_l1_setup(run)
    check_boot(run)
    flags = expect_marker(run, "l1-ro-open-flags")
    if flags == "none":
        raise Fail("never saw an open fd of ro.img in /proc/PID/fd of the VMM while it ran:\n"
                   f"{run.quote_markers()}")
    writable = [f for f in flags.split(",") if f and int(f, 8) & 3 != 0]  # O_ACCMODE != O_RDONLY
    if writable:
        raise Fail(f"the VMM opened the read-only image for writing (fdinfo flags {flags}):\n"
                   f"{run.quote_markers()}")
    expect_value(run, "ro-serial", "e2e-ro", "/sys/block/vdb/serial (GET_ID)")
    expect_value(run, "ro-sectors", str(8 << 11), "/sys/block/vdb/size (capacity)")
    expect_value(run, "ro-sysfs-ro", "1", "/sys/block/vdb/ro (VIRTIO_BLK_F_RO)")
    expect_equal(run, "ro-read-sha256", "l1-ro-sha256-before", "read of the read-only disk")
    expect_value(run, "ro-write-direct", "failed", "O_DIRECT write to the read-only disk")
    expect_value(run, "ro-write-buffered", "failed", "buffered write+fsync to the read-only disk")
    expect_equal(run, "ro-reread-sha256", "l1-ro-sha256-before", "re-read after the write attempts")
    expect_equal(run, "l1-ro-sha256-after", "l1-ro-sha256-before", "read-only image modified")
    expect_value(run, "l1-ro-size-after", str(8 << 20), "read-only image size")


def shell_two_disks(vmm):
    cmd = l2_command(vmm, VMLINUX, 256, cmdline=f"{BASE_CMDLINE} e2e.script=two-disks",
                     disks=[(f"{disk_dir(vmm)}/a.img", False, "e2e-a"),
                            (f"{disk_dir(vmm)}/b.img", False, "e2e-b")])
    return disk_snippet(vmm, f"""
truncate -s 8M "$D/a.img"; truncate -s 12M "$D/b.img"
{cmd}
rc=$?
for d in a b; do
  mark l1-vd$d-sha256 "$(sha_head "$D/$d.img" 4)"
  mark l1-vd$d-last-sector "$(last_sector "$D/$d.img")"
  mark l1-vd$d-size "$(stat -c %s "$D/$d.img")"
done
rm -rf "$D"
exit $rc""")


def check_two_disks(run):
    check_l1_setup(run)
    check_boot(run)
    for d, serial, mib in (("vda", "e2e-a", 8), ("vdb", "e2e-b", 12)):
        expect_value(run, f"{d}-serial", serial, f"/dev/{d} serial (disk order)")
        expect_value(run, f"{d}-sectors", str(mib << 11), f"/dev/{d} capacity in sectors")
        expect_value(run, f"{d}-write", "ok", f"4 MiB O_DIRECT write to /dev/{d}")
        expect_value(run, f"{d}-last-sector-write", "ok", f"write of the last sector of /dev/{d}")
        expect_equal(run, f"{d}-sha256", f"{d}-readback-sha256", f"guest read-back of /dev/{d}")
        expect_equal(run, f"{d}-sha256", f"l1-{d}-sha256", f"image of /dev/{d} in L1")
        expect_value(run, f"{d}-last-sector", f"E2E-LAST-SECTOR-{d}", f"last sector of /dev/{d}")
        expect_value(run, f"l1-{d}-last-sector", f"E2E-LAST-SECTOR-{d}",
                     f"last sector of /dev/{d}'s image in L1")
        expect_value(run, f"l1-{d}-size", str(mib << 20), f"/dev/{d}'s image size (grown?)")
    if run.markers["vda-sha256"] == run.markers["vdb-sha256"]:
        raise Fail(f"both disks got the same data:\n{run.quote_markers()}")


def shell_disk_full(vmm):
    cmd = l2_command(vmm, VMLINUX, 256, cmdline=f"{BASE_CMDLINE} e2e.script=disk-full",
                     disks=[(f"{disk_dir(vmm)}/full/disk.img", False)])
    return disk_snippet(vmm, f"""
mkdir -p "$D/full" && mount -t tmpfs -o size=16m e2e-full "$D/full" || exit 91
truncate -s 64M "$D/full/disk.img"
{cmd}
rc=$?
mark l1-full-used-kb "$(df -k "$D/full" | awk 'NR == 2 {{ print $3 }}')"
umount "$D/full"
rm -rf "$D"
exit $rc""")


def check_disk_full(run):
    check_l1_setup(run)
    expect_marker(run, "init-started")
    expect_value(run, "full-sectors", str(64 << 11), "/dev/vda capacity (64 MiB sparse file)")
    expect_value(run, "full-write", "failed",
                 "32 MiB O_DIRECT write onto a 16 MiB host filesystem (ENOSPC must be IOERR)")
    at = expect_marker(run, "full-failed-at-mib")
    if not at.isdigit() or not 8 <= int(at) <= 16:
        raise Fail(f"the write failed at MiB {at}, expected when the 16 MiB tmpfs filled up "
                   f"(8..16):\n{run.quote_markers()}")
    expect_value(run, "full-fsync", "failed",
                 "buffered write + fsync after the host filesystem filled up (a FLUSH must not "
                 "report success for data that was not stored)")
    errs = expect_marker(run, "full-dmesg-ioerrors")
    if not errs.isdigit() or int(errs) == 0:
        raise Fail(f"no 'I/O error' in the guest's dmesg:\n{run.quote_markers()}")
    expect_value(run, "full-readback-ok", "yes", "read-back of the first MiB after ENOSPC")
    expect_marker(run, "full-alive")
    check_boot(run)


def shell_durability(vmm):
    cmd = l2_command(vmm, VMLINUX, 256, cmdline=f"{BASE_CMDLINE} e2e.script=durability",
                     disks=[(f"{disk_dir(vmm)}/disk.img", False)])
    return disk_snippet(vmm, f"""
truncate -s 16M "$D/disk.img"
{cmd} >"$D/console.log" 2>&1 &
pid=$!
set +x  # the poll loop would flood the console
end=$(($(date +%s) + 120))
while ! grep -q 'MINIVMM-E2E synced' "$D/console.log"; do
  if ! kill -0 $pid 2>/dev/null; then mark l1-vmm-exited-early yes; break; fi
  if [ "$(date +%s)" -ge $end ]; then mark l1-synced-timeout yes; break; fi
  sleep 0.2
done
set -x
kill -KILL $pid
wait $pid
mark l1-vmm-rc $?
cat "$D/console.log"
mark l1-dur-sha256 "$(sha_head "$D/disk.img" 8)"
rm -rf "$D"
exit 0""")


def check_durability(run):
    check_l1_setup(run)
    expect_marker(run, "init-started")
    for bad, why in (("l1-vmm-exited-early", "the VMM exited before the guest printed `synced`"),
                     ("l1-synced-timeout", "no `synced` from the guest within 120 s")):
        if bad in run.markers:
            raise Fail(f"{why}; last output lines:\n{run.tail()}")
    expect_value(run, "dur-write", "ok", "8 MiB write + fsync to /dev/vda")
    expect_marker(run, "synced")
    expect_value(run, "l1-vmm-rc", "137", "VMM exit status after SIGKILL")
    expect_equal(run, "dur-sha256", "l1-dur-sha256",
                 "first 8 MiB of the image after SIGKILL (flushed data lost)")


def shell_rootfs_sandbox(vmm):
    cmd = l2_command(vmm, VMLINUX, 256, vcpus=2,
                     cmdline=f"{BASE_CMDLINE} quiet e2e.script=sandbox",
                     rootfs=(f"{disk_dir(vmm)}/rootfs.img", False))
    return disk_snippet(vmm, f"""
mkrootfs "$D/rootfs.img" 64 || {{ echo "E2E-L1 mkfs.ext4 failed"; exit 90; }}
{cmd}
rc=$?
/payload/e2fsck -fn "$D/rootfs.img" >"$D/fsck.log" 2>&1
mark l1-fsck-rc $?
sed 's/^/E2E-L1 e2fsck: /' "$D/fsck.log"
rm -rf "$D"
exit $rc""")


def check_rootfs_sandbox(run):
    """What the quick start does with the rootfs image: sandbox script from the disk."""
    check_l1_setup(run)
    check_sandbox(run)
    root = expect_marker(run, "root")
    if not root.endswith(":ext4:rw"):
        raise Fail(f"guest root is {root!r}, expected DEVICE:ext4:rw:\n{run.quote_markers()}")
    if expect_marker(run, "l1-fsck-rc") != "0":
        fl = [line for line in run.lines if "E2E-L1 e2fsck" in line]
        raise Fail("e2fsck -fn on the image after the run failed:\n" +
                   "\n".join("    | " + line for line in fl[-15:]))


DISK_SCENARIOS = [
    ("rootfs-sandbox", shell_rootfs_sandbox, check_rootfs_sandbox, 90),
    ("rootfs", shell_rootfs, check_rootfs, 300),
    ("disk-ro", shell_disk_ro, check_disk_ro, 120),
    ("two-disks", shell_two_disks, check_two_disks, 120),
    ("disk-full", shell_disk_full, check_disk_full, 120),
    ("durability", shell_durability, check_durability, 150),
]


# ---------------------------------------------------------------------------------------------
# Scenarios. Each: name, shell(vmm) -> snippet run in L1 (sh), check(run) raising Fail,
# timeout (seconds, enforced inside L1).
# ---------------------------------------------------------------------------------------------
class Scenario:
    def __init__(self, name, shell, check, timeout=60):
        self.name, self.shell, self.check, self.timeout = name, shell, check, timeout


MEM_CMDLINE = f"{BASE_CMDLINE} e2e.tag=memory e2e.token=abc123"

SCENARIOS = [
    Scenario("pvh",
             lambda vmm: l2_command(vmm, VMLINUX, 256, cmdline=f"{BASE_CMDLINE} e2e.tag=pvh"),
             check_boot),
    Scenario("bzimage",
             lambda vmm: l2_command(vmm, BZIMAGE, 256, cmdline=f"{BASE_CMDLINE} e2e.tag=bzimage"),
             check_boot),
    Scenario("smp2",
             lambda vmm: l2_command(vmm, VMLINUX, 256, vcpus=2,
                                    cmdline=f"{BASE_CMDLINE} e2e.tag=smp2"),
             check_nproc(2)),
    Scenario("memory",
             lambda vmm: l2_command(vmm, VMLINUX, 300, cmdline=MEM_CMDLINE),
             check_memory_and_cmdline(300, MEM_CMDLINE)),
    Scenario("sandbox",
             lambda vmm: l2_command(vmm, VMLINUX, 256, vcpus=2,
                                    cmdline=f"{BASE_CMDLINE} quiet e2e.script=sandbox"),
             check_sandbox),
    Scenario("reboot",
             lambda vmm: l2_command(vmm, VMLINUX, 256, cmdline=f"{BASE_CMDLINE} e2e.tag=reboot"),
             check_reboot),
] + [Scenario(*d) for d in DISK_SCENARIOS]


# ---------------------------------------------------------------------------------------------
# Building the artifacts and the L1 scenario script
# ---------------------------------------------------------------------------------------------
def sh(cmd, what):
    """Runs a build step; its stderr (progress) passes through; returns the last stdout line."""
    print(f"e2e: {what}", file=sys.stderr, flush=True)
    t0 = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise SystemExit(f"e2e: ERROR: {what} failed (rc={p.returncode}): {' '.join(cmd)}")
    print(f"e2e: {what}: done in {time.monotonic() - t0:.1f}s", file=sys.stderr, flush=True)
    out = p.stdout.strip().splitlines()
    return out[-1] if out else ""


L1_SCRIPT_HEAD = r"""#!/bin/sh
# Generated by tests/e2e/e2e_test.py: runs each scenario snippet (/payload/scenarios/FILE.sh) in its
# own session with a timeout, between E2E-BEGIN/E2E-END lines. rc=124 means the timeout fired.
run_scenario() {
  name=$1 limit=$2 file=$3
  echo "E2E-BEGIN $name"
  setsid sh "/payload/scenarios/$file.sh" &
  pid=$!
  ( sleep "$limit"; echo "E2E-TIMEOUT $name after ${limit}s"; kill -KILL -- "-$pid" "$pid" 2>/dev/null ) &
  watchdog=$!
  wait "$pid"
  rc=$?
  if ! kill -0 "$watchdog" 2>/dev/null; then rc=124; fi
  kill "$watchdog" 2>/dev/null
  wait "$watchdog" 2>/dev/null
  echo "E2E-END $name rc=$rc"
}
"""


def plan_runs(scenarios, vmms):
    """(run name, Scenario, vmm) triples; names get a `:vmm` suffix when several VMMs run."""
    return [(sc.name if len(vmms) == 1 else f"{sc.name}:{vmm}", sc, vmm)
            for sc in scenarios for vmm in vmms]


def write_l1_scenarios(workdir, plan):
    sdir = os.path.join(workdir, "scenarios")
    os.makedirs(sdir, exist_ok=True)
    files = []
    for name, sc, vmm in plan:
        fname = name.replace(":", "-")
        path = os.path.join(sdir, f"{fname}.sh")
        with open(path, "w") as f:
            f.write(f"# e2e scenario {sc.name} (vmm={vmm})\nset -x\n{sc.shell(vmm)}\n")
        files.append(f"{path}=scenarios/{fname}.sh")
    script = os.path.join(workdir, "scenario.sh")
    with open(script, "w") as f:
        f.write(L1_SCRIPT_HEAD)
        for name, sc, _ in plan:
            f.write(f"run_scenario {name} {int(sc.timeout)} {name.replace(':', '-')}\n")
    return script, files


def build_payload_args(args, kernel_dir, guest_initrd, rootfs_tar):
    """build_l1.sh arguments putting the L2 VMM, guest kernels, initramfs, root filesystem tree
    and the e2fsprogs tools into /payload."""
    a = ["--file", f"{kernel_dir}/vmlinux=vmlinux", "--file", f"{kernel_dir}/bzImage=bzImage",
         "--file", f"{guest_initrd}=guest.cpio.gz"]
    # virtio-blk scenarios: the guest root tree (mkfs.ext4 -d runs in L1) and e2fsprogs.
    a += ["--file", f"{rootfs_tar}=rootfs-tree.tar"]
    for tool in ("mkfs.ext4", "e2fsck", "debugfs"):
        path = shutil.which(tool, path=os.environ.get("PATH", "") + ":/sbin:/usr/sbin")
        if not path:
            raise SystemExit(f"e2e: ERROR: {tool} not found (install e2fsprogs)")
        a += ["--bin", f"{path}={tool}"]
    if "minivmm" in args.vmms:
        path = os.path.abspath(args.minivmm)
        if not os.access(path, os.X_OK):
            raise SystemExit(f"e2e: ERROR: minivmm binary {path} not found or not executable "
                             "(build it, pass --minivmm PATH, or use --vmm qemu)")
        a += ["--bin", f"{path}=minivmm"]
    if "qemu" in args.vmms:
        qemu = subprocess.run(["sh", "-c", "command -v qemu-system-x86_64"], stdout=subprocess.PIPE,
                              text=True).stdout.strip()
        if not qemu:
            raise SystemExit("e2e: ERROR: qemu-system-x86_64 not found (scripts/setup.sh)")
        rom = os.path.join(os.path.dirname(os.path.realpath(qemu)), "..", "share", "qemu",
                           "bios-microvm.bin")
        a += ["--bin", f"{qemu}=qemu-system-x86_64",
              "--file", f"{os.path.realpath(rom)}=qemu-roms/bios-microvm.bin",
              # microvm with acpi=off (see l2_command) asks for qboot.rom (the same firmware
              # in Debian: bios-microvm.bin is a symlink to it).
              "--file", f"{os.path.realpath(rom)}=qemu-roms/qboot.rom"]
    return a


def build_all(args, workdir, plan):
    """Guest kernel (cached), guest initramfs, scenario scripts and L1; returns the L1 dir."""
    kernel_dir = args.kernel_dir or sh([os.path.join(REPO, "guest-kernel-config", "build.sh")],
                                       "guest kernel (guest-kernel-config/build.sh)")
    guest_initrd = os.path.join(workdir, "guest.cpio.gz")
    sh([os.path.join(HERE, "guest", "build_initramfs.sh"), guest_initrd], "guest initramfs")
    rootfs_tar = os.path.join(workdir, "rootfs-tree.tar")
    sh([os.path.join(HERE, "guest", "build_rootfs.sh"), "--tar", rootfs_tar], "guest rootfs tree")
    script, files = write_l1_scenarios(workdir, plan)
    l1_args = [os.path.join(HERE, "l1", "build_l1.sh"), "--out", os.path.join(workdir, "l1"),
               "--scenario", script] + build_payload_args(args, kernel_dir, guest_initrd,
                                                          rootfs_tar)
    for f in files:
        l1_args += ["--file", f]
    return sh(l1_args, "L1 kernel + initramfs (l1/build_l1.sh)")


def boot_and_parse(args, l1_dir, log_path, budget, plan):
    """Boots L1 once for `plan`; returns (boot result, {run name: ScenarioRun})."""
    res = run_l1.boot_l1(os.path.join(l1_dir, "vmlinuz"), os.path.join(l1_dir, "l1.cpio.gz"),
                         log_path, budget,
                         cmd=run_l1.l1_command(os.path.join(l1_dir, "vmlinuz"),
                                               os.path.join(l1_dir, "l1.cpio.gz"),
                                               append_extra=args.l1_append),
                         scenario_limits={name: sc.timeout for name, sc, _ in plan})
    return res, parse_scenarios(res.lines, [name for name, _, _ in plan])


def main():
    ap = argparse.ArgumentParser(description="minivmm nested end-to-end tests",
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="scenarios: " + ", ".join(s.name for s in SCENARIOS))
    ap.add_argument("--vmm", default="minivmm",
                    help="L2 VMM: minivmm (default), qemu, or both as 'minivmm,qemu' (scenarios "
                         "then run once per VMM in the same L1 boot, named NAME:VMM, for "
                         "side-by-side timing)")
    ap.add_argument("--minivmm", default=os.path.join(REPO, "build", "minivmm"),
                    help="minivmm binary (default: build/minivmm)")
    ap.add_argument("--only", action="append", metavar="NAME",
                    help="run only this scenario (repeatable, or comma-separated)")
    ap.add_argument("--timeout", type=float, default=900, help="total L1 budget in seconds")
    ap.add_argument("--keep-log", metavar="PATH", help="write L1's serial log here")
    ap.add_argument("--scenario-timeout", type=float, metavar="SECONDS",
                    help="override every scenario's own timeout inside L1")
    ap.add_argument("--list", action="store_true", help="list the scenarios and exit")
    ap.add_argument("--show-console", action="store_true",
                    help="print each scenario's L2 console output (used by the quick start)")
    ap.add_argument("--l1-append", default="", metavar="ARGS",
                    help="extra L1 kernel cmdline, e.g. 'loglevel=7' to see L1 kernel "
                         "warnings (soft lockups, kvm) that 'quiet' hides")
    ap.add_argument("--kernel-dir", help="guest kernel dir with vmlinux and bzImage "
                    "(default: guest-kernel-config/build.sh, cached)")
    args = ap.parse_args()
    args.vmms = [v for v in args.vmm.split(",") if v]
    if not args.vmms or any(v not in ("minivmm", "qemu") for v in args.vmms):
        ap.error(f"--vmm {args.vmm}: expected minivmm, qemu or minivmm,qemu")
    if args.list:
        for sc in SCENARIOS:
            print(f"{sc.name}\t(timeout {sc.timeout:.0f}s)")
        return 0

    selected = SCENARIOS
    if args.only:
        wanted = [n for o in args.only for n in o.split(",") if n]
        unknown = [n for n in wanted if n not in {s.name for s in SCENARIOS}]
        if unknown:
            raise SystemExit(f"e2e: ERROR: unknown scenario(s) {unknown}; "
                             f"known: {[s.name for s in SCENARIOS]}")
        selected = [s for s in SCENARIOS if s.name in wanted]
    if args.scenario_timeout:
        selected = [Scenario(s.name, s.shell, s.check, args.scenario_timeout) for s in selected]

    t_start = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="minivmm-e2e.")
    plan = plan_runs(selected, args.vmms)
    try:
        l1_dir = build_all(args, workdir, plan)
    except SystemExit as e:  # a build step failed: still end with the summary line
        print(e, flush=True)
        print(f"e2e: kept {workdir}", file=sys.stderr)
        print(f"0 passed, {len(plan)} failed", flush=True)
        return 1

    log_path = args.keep_log or os.path.join(workdir, "l1-serial.log")
    budget = args.timeout  # for L1 alone: a cold guest-kernel build must not eat into it
    res, runs = boot_and_parse(args, l1_dir, log_path, budget, plan)
    if res.stuck_scenario:
        # Rarely the whole L1 machine wedges as an L2 VMM starts: no output, both TCG threads
        # busy. Seen with minivmm (2 in ~55 starts) and with QEMU (once, in bench/blk) as the L2
        # VMM, so it lies in the nested emulation, not in either VMM; never reproduced on demand. Boot a fresh L1 once for the unfinished scenarios, and say so loudly, so
        # the flake is visible in every log but does not hide real failures (a second wedge
        # fails the run).
        unfinished = [p for p in plan if runs[p[0]].rc is None]
        print(f"e2e: WARNING: L1 wedged in {res.stuck_scenario}; booting a fresh L1 once for "
              f"{len(unfinished)} unfinished scenario(s) (log {log_path})", flush=True)
        retry_dir = tempfile.mkdtemp(prefix="minivmm-e2e-retry.")
        try:
            retry_l1 = build_all(args, retry_dir, unfinished)
        except SystemExit as e:
            print(e, flush=True)
            retry_l1 = None
        if retry_l1 is not None:
            retry_log = log_path + ".retry"
            res, retry_runs = boot_and_parse(args, retry_l1, retry_log, budget, unfinished)
            runs.update(retry_runs)
            log_path = retry_log
        shutil.rmtree(os.path.join(retry_dir, "l1"), ignore_errors=True)

    if args.show_console:
        for name, _, _ in plan:
            print(f"----- {name}: L2 console (inside the nested harness) -----")
            for line in runs[name].lines:
                print(line)
            print("-----")
    passed = failed = 0
    quoted_l1_tail = False  # quote the end of L1's log once, not for every unstarted scenario
    for name, sc, _ in plan:
        run = runs[name]
        try:
            if res.l1_error and not run.began:
                raise Fail(f"L1 failed before the scenario: {res.l1_error}")
            if not run.began:
                why = (f"L1 killed, wedged in {res.stuck_scenario}" if res.stuck_scenario else
                       "L1 timed out" if res.timed_out else f"L1 exited rc={res.returncode}")
                if quoted_l1_tail:
                    raise Fail(f"scenario never started ({why})")
                quoted_l1_tail = True
                raise Fail(f"scenario never started ({why}); last L1 lines:\n" +
                           "\n".join("    | " + t for _, t in res.lines[-12:]))
            if run.rc is None:
                why = ("L1 hung: no output and its in-L1 watchdog never fired; QEMU killed"
                       if res.stuck_scenario == name else
                       "L1 timed out" if res.timed_out else "L1 ended")
                raise Fail(f"scenario did not finish ({why}); last output lines:\n{run.tail()}")
            sc.check(run)
        except Fail as e:
            failed += 1
            print(f"e2e: FAIL {name}: {e}", flush=True)
        else:
            passed += 1
            bt = f", boot-timer {run.boot_timer_ms:.0f}ms" if run.boot_timer_ms is not None else ""
            print(f"e2e: PASS {name} ({run.duration:.1f}s{bt})", flush=True)
    if res.stuck_scenario:
        print(f"e2e: L1 killed: wedged in scenario {res.stuck_scenario} (log {log_path})",
              flush=True)
    elif res.timed_out:
        print(f"e2e: L1 timed out after {budget:.0f}s (log {log_path})", flush=True)
    elif res.returncode != 0:
        print(f"e2e: L1 QEMU exited rc={res.returncode} (log {log_path})", flush=True)
    ready = f"{res.ready_after:.1f}s" if res.ready_after is not None else "never"
    print(f"e2e: vmm={args.vmm} L1 ready after {ready}, L1 run {res.elapsed:.1f}s, "
          f"total {time.monotonic() - t_start:.1f}s, log {log_path}", file=sys.stderr)
    bad = failed or res.timed_out or res.returncode != 0
    shutil.rmtree(os.path.join(workdir, "l1"), ignore_errors=True)  # tens of MiB
    if bad and not args.keep_log:
        print(f"e2e: kept {workdir} (serial log, scenario scripts)", file=sys.stderr)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
