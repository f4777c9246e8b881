#!/usr/bin/env python3
"""virtio-net / vsock benchmark: minivmm vs QEMU microvm's virtio-net-device, side by side in ONE L1 boot.

Run on demand (never in CI). Reuses the nested harness of tests/e2e (read-only): the guest kernel
(guest-kernel-config/build.sh, cached), the L2 guest initramfs (tests/e2e/guest/build_initramfs.sh)
plus an appended cpio with /e2e/scripts/netbench.sh (bench/net/guest/netbench.sh) and
/bin/socktool (tests/e2e/guest/socktool.c, static; the same binary is L1's peer), the L1 machine
(tests/e2e/l1/build_l1.sh, with the tun module) and run_l1.boot_l1().

R rounds run in one L1 boot; each round boots the guest once with minivmm and once with QEMU (the
order alternates every round: M Q, Q M, ...). Every boot runs in a fresh network namespace of L1
(`unshare -n`): the VMM creates tap0 (minivmm `--net tap=tap0`; QEMU `-netdev tap,...,vhost=off
-device virtio-net-device`), L1 gives it 10.0.2.1/24, the guest is 10.0.2.15. Then N bytes
(--bytes) move once in each direction with socktool:
  tcp_g2h    guest -> L1 over TCP on the tap           (guest `socktool connect`, L1 `listen`)
  tcp_h2g    L1 -> guest over TCP on the tap           (L1 `socktool connect`, guest `listen`)
  vsock_g2h  guest -> L1 over vsock (minivmm only: `--vsock cid=3,uds=PATH`; L1 listens on
             PATH_5301)
  vsock_h2g  L1 -> guest over the hybrid Unix socket (`connect unix:PATH --hybrid 5302`)
Throughput is always the SENDER's `socktool --stats` figure: bytes sent / time from connect until
the receiver, having read everything, closed the connection (so it is end-to-end delivery), in
MB/s = 10^6 B/s. The data is zeros from a file in RAM (guest /tmp, L1 /tmp tmpfs).

Around every transfer L1 reads the VMM process's /proc/PID/stat (utime+stime, and guest_time, the
part of utime spent running the guest on the vCPU threads) and the global KVM exit counters
(/sys/kernel/debug/kvm), right before starting its side (for g2h: when the guest says it is ready,
before starting the listener the guest then connects to) and right after its side finished. From
these: VMM CPU-seconds per GB (10^9 B) including and excluding guest time, KVM exits per MB.

Usage: bench/net/net_bench.py [--rounds 3] [--bytes 128M] [--minivmm build/minivmm] [--out FILE]
                              [--keep-log PATH] [--vmm minivmm,qemu]
Prints Markdown tables (metric, minivmm median, QEMU median, ratio minivmm/QEMU, spread (min-max),
runs), a line comparing vsock with tap TCP throughput, diagnostics, and the exact command. Exits
non-zero when a VMM fails to boot, a marker is missing, a transfer fails, or L1 fails / times
out. Python standard library only.
"""
import argparse
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
E2E = os.path.join(REPO, "tests", "e2e")
sys.dont_write_bytecode = True  # no __pycache__ in tests/e2e (owned by someone else)
sys.path.insert(0, E2E)
try:
    import run_l1  # noqa: E402
    try:
        from harness import BASE_CMDLINE, VMLINUX, l2_command  # noqa: E402
    except ImportError:  # older layout: everything in e2e_test.py
        from e2e_test import BASE_CMDLINE, VMLINUX, l2_command  # noqa: E402
except Exception as e:  # tests/e2e is edited by others; say so instead of a bare traceback
    raise SystemExit(f"net_bench: ERROR: cannot import tests/e2e modules ({e!r})")

ALL_VMMS = ("minivmm", "qemu")
INITRD = "/payload/netbench.cpio.gz"
L1_DIR = "/tmp/netbench"
SRC = f"{L1_DIR}/src"
GUEST_CID = 3
# (key, description, sender, minivmm only)
TRANSFERS = [
    ("tcp_g2h", "TCP guest -> host (tap)", "guest", False),
    ("tcp_h2g", "TCP host -> guest (tap)", "L1", False),
    ("vsock_g2h", "vsock guest -> host (hybrid UDS)", "guest", True),
    ("vsock_h2g", "vsock host -> guest (hybrid UDS)", "L1", True),
]


def log(msg):
    print(f"net_bench: {msg}", file=sys.stderr, flush=True)


def sh(cmd, what):
    log(what)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise SystemExit(f"net_bench: ERROR: {what} failed (rc={p.returncode}): "
                         f"{' '.join(map(shlex.quote, cmd))}")
    out = p.stdout.strip().splitlines()
    return out[-1] if out else ""


def parse_bytes(text):
    m = re.fullmatch(r"(\d+)([KMG]?)(i?B?)?", text.strip(), re.IGNORECASE)
    if not m:
        raise argparse.ArgumentTypeError(f"bad byte count {text!r} (e.g. 64M, 1G, 1048576)")
    mult = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[m.group(2).upper()]
    n = int(m.group(1)) * mult
    if n <= 0:
        raise argparse.ArgumentTypeError("byte count must be positive")
    return n


# ------------------------------------------------------------------------------------------------
# Build: guest initramfs (e2e base + netbench.sh + socktool), L1 scripts, L1
# ------------------------------------------------------------------------------------------------
def build_initramfs(workdir, socktool):
    base = os.path.join(workdir, "guest-base.cpio.gz")
    sh([os.path.join(E2E, "guest", "build_initramfs.sh"), base], "guest base initramfs (e2e)")
    root = os.path.join(workdir, "extra-root")
    os.makedirs(os.path.join(root, "bin"))
    os.makedirs(os.path.join(root, "e2e", "scripts"))
    shutil.copy(socktool, os.path.join(root, "bin", "socktool"))
    shutil.copy(os.path.join(HERE, "guest", "netbench.sh"),
                os.path.join(root, "e2e", "scripts", "netbench.sh"))
    os.chmod(os.path.join(root, "e2e", "scripts", "netbench.sh"), 0o755)
    extra = os.path.join(workdir, "extra.cpio.gz")
    # The kernel unpacks concatenated (gzip'ed) newc archives in order; later files win.
    subprocess.run(f"cd {shlex.quote(root)} && find bin e2e | LC_ALL=C sort | "
                   f"cpio --quiet -o -H newc --owner=0:0 | gzip -9 -n > {shlex.quote(extra)}",
                   shell=True, check=True)
    out = os.path.join(workdir, "netbench.cpio.gz")
    with open(out, "wb") as f:
        for part in (base, extra):
            with open(part, "rb") as p:
                shutil.copyfileobj(p, f)
    return out


# The L1 top-level script: per run, the run script in its own session AND network namespace, with
# a watchdog; after it ended, the VMM's console (kept in a file, which the run script greps to
# follow the guest) is printed, then E2E-END.
L1_HEAD = r"""#!/bin/sh
# Generated by bench/net/net_bench.py: the virtio-net / vsock benchmark inside L1.
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mkdir -p @DIR@
echo "BENCH-L1 kernel=$(uname -r) nproc=$(grep -c ^processor /proc/cpuinfo) tmp-fs=$(awk '$2 == "/tmp" { print $3 }' /proc/mounts)"
[ -r /sys/kernel/debug/kvm/exits ] && echo "BENCH-L1 kvm-debugfs=yes" || echo "BENCH-L1 kvm-debugfs=no"
[ -c /dev/net/tun ] && echo "BENCH-L1 tun=yes" || echo "BENCH-L1 tun=no"
head -c @BYTES@ /dev/zero >@SRC@ || { echo "BENCH-L1 error=src-file"; exit 1; }
run_one() {
  name=$1 limit=$2
  shift 2
  echo "E2E-BEGIN $name"
  setsid unshare -n sh /payload/bench/netrun.sh "$name" "$@" &
  pid=$!
  ( sleep "$limit"; echo "BENCH-TIMEOUT $name after ${limit}s"; kill -KILL -- "-$pid" "$pid" 2>/dev/null ) &
  watchdog=$!
  wait "$pid"
  rc=$?
  if ! kill -0 "$watchdog" 2>/dev/null; then rc=124; fi
  kill "$watchdog" 2>/dev/null
  wait "$watchdog" 2>/dev/null
  echo "BENCH-CONSOLE-BEGIN $name"
  cat "@DIR@/$name/console.log" 2>/dev/null
  echo "BENCH-CONSOLE-END $name"
  rm -rf "@DIR@/$name"
  echo "E2E-END $name rc=$rc"
}
"""

# One run, inside `unshare -n`: netrun.sh NAME VMMFILE VSOCK(0|1) TRANSFER_TIMEOUT
L1_RUN = r"""#!/bin/sh
# Generated by bench/net/net_bench.py: one benchmark boot, in a fresh network namespace of L1.
name=$1 vmmfile=$2 vsock=$3 tt=$4
ip link set lo up
D=@DIR@/$name
rm -rf "$D"; mkdir -p "$D"
ST=/payload/socktool
SRC=@SRC@
mark() { printf 'MINIVMM-BENCH %s=%s\n' "$1" "$2"; }
# wait_for PATTERN SECONDS: 0 when the console has PATTERN, 1 when the VMM exited, 2 on timeout
wait_for() {
  _end=$(($(date +%s) + $2))
  while ! grep -q "$1" "$D/console.log" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || return 1
    [ "$(date +%s)" -ge $_end ] && return 2
    sleep 0.1
  done
  return 0
}
# snap KEY: VMM utime:stime:guest_time (ticks) : L1 uptime : KVM exits:mmio:halt:irq_injections
snap() {
  _sk=$1 _st=
  read -r _st </proc/$pid/stat 2>/dev/null
  read -r _up _ </proc/uptime
  _kvm=
  for _f in exits mmio_exits halt_exits irq_injections; do
    _v=NA; read -r _v </sys/kernel/debug/kvm/$_f 2>/dev/null; _kvm="$_kvm:$_v"
  done
  # after the ")" closing comm, $1 is field 3: utime/stime (14/15) are $12/$13, guest_time (43) $41
  set -- ${_st##*) }
  mark "$_sk" "${12:-NA}:${13:-NA}:${41:-NA}:$_up$_kvm"
}
fail() {
  mark l1.error "$1"
  kill "$pid" 2>/dev/null
  sleep 1
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  mark l1.vmm-rc $?
  exit 1
}
step_wait() { # KEY PATTERN SECONDS
  wait_for "$2" "$3"
  case $? in 0) return 0 ;; 1) fail "$1:vmm-exited" ;; *) fail "$1:timeout-${3}s" ;; esac
}

mkfifo "$D/hold"
: >"$D/console.log"
sh "$vmmfile" >"$D/console.log" 2>&1 &
pid=$!
mark l1.vmm-pid "$pid"

# The VMM creates tap0; configure L1's side.
i=0
while ! ip link show tap0 >/dev/null 2>&1; do
  kill -0 "$pid" 2>/dev/null || fail no-tap0:vmm-exited
  i=$((i + 1)); [ $i -gt 600 ] && fail no-tap0:timeout
  sleep 0.1
done
ip addr add 10.0.2.1/24 dev tap0 && ip link set tap0 up || fail tap0-config
# (L1's /sys belongs to the root netns: ask ip for tap0's MTU and queue length)
mark l1.tap0 "$(ip -o link show tap0 | sed -n 's/.* mtu \([0-9]*\).* qlen \([0-9]*\).*/mtu=\1,qlen=\2/p')"

# g2h KEY LISTEN-ADDR: start the listener once the guest is ready to send
g2h() {
  step_wait "$1" "MINIVMM-BENCH $1.ready" "$tt"
  snap "$1.l1_begin"
  timeout "$tt" $ST listen "$2" <>"$D/hold" >/dev/null
  r=$?
  snap "$1.l1_end"
  mark "$1.l1_rc" $r
  [ $r -eq 0 ] || fail "$1:listener-rc-$r"
}
# h2g KEY CONNECT-ARGS...: send once the guest listens
h2g() {
  _k=$1; shift
  step_wait "$_k" "MINIVMM-BENCH $_k.listening" "$tt"
  snap "$_k.l1_begin"
  timeout "$tt" $ST connect "$@" --stats <"$SRC" >/dev/null 2>"$D/err"
  r=$?
  snap "$_k.l1_end"
  cat "$D/err"
  mark "$_k.l1_rc" $r
  [ $r -eq 0 ] || fail "$_k:sender-rc-$r"
  mark "$_k.sent_secs" "$(sed -n 's/^socktool: sent \([0-9]*\) received [0-9]* bytes in \([0-9.]*\) s.*/\1:\2/p' "$D/err")"
}

g2h tcp_g2h tcp:5201
# threads of the VMM while it is busy with the network (COUNTxNAME)
mark l1.threads "$(cat /proc/$pid/task/*/comm 2>/dev/null | sort | uniq -c | awk '{ printf "%s%sx%s", sep, $1, $2; sep = "," }')"
h2g tcp_h2g tcp:10.0.2.15:5202
if [ "$vsock" = 1 ]; then
  g2h vsock_g2h "unix:$D/v.sock_5301"
  h2g vsock_h2g "unix:$D/v.sock" --hybrid 5302
fi
step_wait finished "MINIVMM-BENCH finished" 60
wait "$pid"
rc=$?
mark l1.vmm-rc "$rc"
exit $rc
"""


def run_plan(rounds, vmms):
    """[(run name, vmm)]: the VMM order alternates every round (M Q, Q M, ...)."""
    plan = []
    for r in range(1, rounds + 1):
        order = vmms if r % 2 == 1 else tuple(reversed(vmms))
        plan += [(f"r{r}-{vmm}", vmm) for vmm in order]
    return plan


def write_l1_scripts(workdir, args, plan, run_limit, transfer_limit):
    files = []
    head = (L1_HEAD.replace("@DIR@", L1_DIR).replace("@SRC@", SRC)
            .replace("@BYTES@", str(args.bytes)))
    run = L1_RUN.replace("@DIR@", L1_DIR).replace("@SRC@", SRC)
    run_path = os.path.join(workdir, "netrun.sh")
    with open(run_path, "w") as f:
        f.write(run)
    files.append(f"{run_path}=bench/netrun.sh")
    body = [head]
    commands = {}
    for name, vmm in plan:
        vsock = 1 if vmm == "minivmm" else 0
        cmdline = (f"{BASE_CMDLINE} quiet e2e.script=netbench bench.bytes={args.bytes} "
                   f"bench.vsock={vsock}")
        mv = ["--net", "tap=tap0", "--vsock", f"cid={GUEST_CID},uds={L1_DIR}/{name}/v.sock"]
        qm = ["-netdev", "tap,id=n0,ifname=tap0,script=no,downscript=no,vhost=off",
              "-device", "virtio-net-device,netdev=n0"]
        cmd = l2_command(vmm, VMLINUX, args.memory, vcpus=args.vcpus, cmdline=cmdline,
                         initrd=INITRD, extra_minivmm=mv, extra_qemu=qm)
        commands[vmm] = cmd
        path = os.path.join(workdir, f"{name}.sh")
        with open(path, "w") as f:
            f.write(f"# net_bench run {name}\nexec {cmd}\n")
        files.append(f"{path}=bench/{name}.sh")
        body.append(f"run_one {name} {run_limit} /payload/bench/{name}.sh {vsock} "
                    f"{transfer_limit}\n")
    body.append(f"rm -rf {L1_DIR}\n")
    script = os.path.join(workdir, "scenario.sh")
    with open(script, "w") as f:
        f.write("".join(body))
    return script, files, commands


def build_l1(args, workdir, kernel_dir, initrd, socktool, script, files):
    a = [os.path.join(E2E, "l1", "build_l1.sh"), "--out", os.path.join(workdir, "l1"),
         "--scenario", script, "--module", "tun", "--file", f"{kernel_dir}/vmlinux=vmlinux",
         "--file", f"{initrd}=netbench.cpio.gz", "--bin", f"{socktool}=socktool"]
    if "minivmm" in args.vmms:
        minivmm = os.path.abspath(args.minivmm)
        if not os.access(minivmm, os.X_OK):
            raise SystemExit(f"net_bench: ERROR: minivmm binary {minivmm} not found or not "
                             "executable (build it, pass --minivmm PATH, or use --vmm qemu)")
        help_text = subprocess.run([minivmm, "run", "--help"], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True).stdout
        missing = [o for o in ("--net", "--vsock") if o not in help_text]
        if missing:
            raise SystemExit(f"net_bench: ERROR: {minivmm} has no {' / '.join(missing)} option "
                             "(`minivmm run --help`); rebuild it or use --vmm qemu")
        a += ["--bin", f"{minivmm}=minivmm"]
    if "qemu" in args.vmms:
        qemu = shutil.which("qemu-system-x86_64")
        if not qemu:
            raise SystemExit("net_bench: ERROR: qemu-system-x86_64 not found (scripts/setup.sh)")
        rom = os.path.join(os.path.dirname(os.path.realpath(qemu)), "..", "share", "qemu",
                           "bios-microvm.bin")
        # microvm with acpi=off (tests/e2e l2_command) asks for qboot.rom: the same firmware file.
        a += ["--bin", f"{qemu}=qemu-system-x86_64",
              "--file", f"{os.path.realpath(rom)}=qemu-roms/bios-microvm.bin",
              "--file", f"{os.path.realpath(rom)}=qemu-roms/qboot.rom"]
    for f in files:
        a += ["--file", f]
    return sh(a, "L1 kernel + initramfs (tests/e2e/l1/build_l1.sh)")


# ------------------------------------------------------------------------------------------------
# Parsing
# ------------------------------------------------------------------------------------------------
_BENCH = re.compile(r"MINIVMM-BENCH ([A-Za-z0-9_.-]+)=(\S*)")


class Run:
    def __init__(self, name, vmm):
        self.name, self.vmm = name, vmm
        self.began = False
        self.rc = None
        self.lines = []
        self.markers = {}

    def tail(self, n=20):
        return "\n".join("    | " + line for line in self.lines[-n:]) or "    (no output)"


def parse(lines, plan):
    runs = {name: Run(name, vmm) for name, vmm in plan}
    current = None
    for _, text in lines:
        m = re.search(r"E2E-BEGIN (\S+)", text)
        if m and m.group(1) in runs:
            current = runs[m.group(1)]
            current.began = True
            continue
        m = re.search(r"E2E-END (\S+) rc=(-?\d+)", text)
        if m and m.group(1) in runs:
            runs[m.group(1)].rc = int(m.group(2))
            current = None
            continue
        if current is None:
            continue
        current.lines.append(text)
        mm = _BENCH.search(text)
        if mm:
            current.markers.setdefault(mm.group(1), mm.group(2))
    return runs


def snap_delta(run, key):
    """{utime_s, stime_s, guest_s, wall_s, exits, mmio_exits, halt_exits, irq_injections} between
    KEY.l1_begin and KEY.l1_end, or {} when a snapshot is missing."""
    a, b = run.markers.get(key + ".l1_begin"), run.markers.get(key + ".l1_end")
    if not a or not b:
        return {}
    names = ("utime", "stime", "guest", "up", "exits", "mmio_exits", "halt_exits",
             "irq_injections")
    out = {}
    for n, x, y in zip(names, a.split(":"), b.split(":")):
        try:
            d = float(y) - float(x)
        except ValueError:
            continue
        out[n] = d / 100.0 if n in ("utime", "stime", "guest") else d  # USER_HZ ticks -> s
    return out


def fmt(v, digits=0):
    if v is None:
        return "-"
    if abs(v) >= 100 or digits == 0:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def median(xs):
    return statistics.median(xs) if xs else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__[__doc__.index("Usage:"):])
    ap.add_argument("--rounds", type=int, default=3, help="rounds (each: one boot per VMM, order "
                    "alternating); default 3")
    ap.add_argument("--bytes", type=parse_bytes, default=128 << 20,
                    help="bytes per transfer, e.g. 64M, 128M (default), 1G")
    ap.add_argument("--vmm", default="minivmm,qemu",
                    help="VMMs to run: minivmm,qemu (default), minivmm or qemu")
    ap.add_argument("--minivmm", default=os.path.join(REPO, "build", "minivmm"))
    ap.add_argument("--out", metavar="FILE", help="also write the report (Markdown) here")
    ap.add_argument("--keep-log", metavar="PATH", help="write L1's serial log here")
    ap.add_argument("--memory", type=int, help="guest MiB (default: 256 + the transfer size, "
                    "the guest keeps its source file in RAM)")
    ap.add_argument("--vcpus", type=int, default=1, help="guest vCPUs (default 1)")
    ap.add_argument("--kernel-dir", help="guest kernel dir with vmlinux (default: "
                    "guest-kernel-config/build.sh, cached)")
    ap.add_argument("--timeout", type=float, help="L1 budget in seconds (default: from rounds)")
    args = ap.parse_args()
    args.vmms = tuple(v for v in ALL_VMMS if v in args.vmm.split(","))
    if not args.vmms or any(v not in ALL_VMMS for v in args.vmm.split(",") if v):
        ap.error(f"--vmm {args.vmm}: expected minivmm, qemu or minivmm,qemu")
    if args.rounds < 1:
        ap.error("--rounds must be positive")
    mib = args.bytes / (1 << 20)
    if args.memory is None:
        args.memory = int(256 + mib + 0.999)
    command = " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0], REPO)] + sys.argv[1:])

    t_start = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="minivmm-netbench.")
    plan = run_plan(args.rounds, args.vmms)
    # Per transfer: at least 1 MB/s. Per boot: guest boot + 4 transfers + shutdown.
    transfer_limit = int(max(90, args.bytes / 1e6 * 1.0))
    run_limit = 240 + 4 * transfer_limit
    try:
        kernel_dir = args.kernel_dir or sh([os.path.join(REPO, "guest-kernel-config", "build.sh")],
                                           "guest kernel (guest-kernel-config/build.sh)")
        socktool = os.path.join(workdir, "socktool")
        sh(["gcc", "-static", "-O2", "-s", "-Wall", "-Wextra", "-o", socktool,
            os.path.join(E2E, "guest", "socktool.c")], "socktool (gcc -static -O2)")
        initrd = build_initramfs(workdir, socktool)
        script, files, commands = write_l1_scripts(workdir, args, plan, run_limit, transfer_limit)
        l1_dir = build_l1(args, workdir, kernel_dir, initrd, socktool, script, files)
    except SystemExit as e:
        print(e, flush=True)
        log(f"kept {workdir}")
        return 1

    log_path = args.keep_log or os.path.join(workdir, "l1-serial.log")
    budget = args.timeout or 180 + len(plan) * run_limit
    res = run_l1.boot_l1(os.path.join(l1_dir, "vmlinuz"), os.path.join(l1_dir, "l1.cpio.gz"),
                         log_path, budget, scenario_limits={n: run_limit for n, _ in plan})
    runs = parse(res.lines, plan)
    shutil.rmtree(os.path.join(workdir, "l1"), ignore_errors=True)

    def transfers_of(vmm):
        return [t for t in TRANSFERS if vmm == "minivmm" or not t[3]]

    # Failures: a VMM that never finished, failed, or a missing marker.
    errors = []
    if res.l1_error:
        errors.append(f"L1: {res.l1_error}")
    for name, vmm in plan:
        run = runs[name]
        if not run.began:
            why = ("L1 wedged in " + res.stuck_scenario if res.stuck_scenario else
                   "L1 timed out" if res.timed_out else f"L1 exited rc={res.returncode}")
            errors.append(f"{name}: {vmm} never started ({why})")
            continue
        if run.rc is None:
            errors.append(f"{name}: {vmm} did not finish (L1 timed out or wedged); last lines:\n"
                          f"{run.tail()}")
            continue
        if "ping-host" not in run.markers:
            errors.append(f"{name}: {vmm} did not boot the guest into netbench.sh (no "
                          f"MINIVMM-BENCH markers from the guest; run rc={run.rc}); last lines:\n"
                          f"{run.tail()}")
            continue
        need = ["finished"]
        for key, _, _, _ in transfers_of(vmm):
            need += [key + ".sent_secs", key + ".l1_begin", key + ".l1_end"]
        missing = [k for k in need if not run.markers.get(k)]
        failed = {k: v for k, v in run.markers.items()
                  if k.endswith((".failed", ".error")) or k in ("error", "l1.error")}
        short = []
        for key, _, _, _ in transfers_of(vmm):
            sent = run.markers.get(key + ".sent_secs", "").split(":")[0]
            if sent and sent != str(args.bytes):
                short.append(f"{key} sent {sent} of {args.bytes} bytes")
        if missing or failed or short or run.rc != 0:
            errors.append(f"{name}: {vmm} run rc={run.rc}, missing {missing or 'nothing'}, "
                          f"errors {failed or 'none'}{', ' + '; '.join(short) if short else ''}; "
                          f"last lines:\n{run.tail()}")

    # Per VMM and transfer: lists over rounds.
    res_t = {vmm: {t[0]: {} for t in TRANSFERS} for vmm in ALL_VMMS}
    features = {}
    for name, vmm in plan:
        run = runs[name]
        if "net-features" in run.markers:
            features.setdefault(vmm, run.markers["net-features"])
        for key, _, _, _ in transfers_of(vmm):
            try:
                sent_s, secs_s = run.markers[key + ".sent_secs"].split(":")
                sent, secs = int(sent_s), float(secs_s)
            except (KeyError, ValueError):
                continue
            if secs <= 0 or sent <= 0:
                continue
            d = res_t[vmm][key]
            d.setdefault("mbps", []).append(sent / secs / 1e6)
            delta = snap_delta(run, key)
            gb = sent / 1e9
            if "utime" in delta and "stime" in delta:
                cpu = delta["utime"] + delta["stime"]
                d.setdefault("cpu_per_gb", []).append(cpu / gb)
                if "guest" in delta:
                    d.setdefault("cpu_noguest_per_gb", []).append((cpu - delta["guest"]) / gb)
                if delta.get("up"):
                    d.setdefault("cpu_pct", []).append(100 * cpu / delta["up"])
                    d.setdefault("l1_window_mbps", []).append(sent / delta["up"] / 1e6)
            for k in ("exits", "mmio_exits", "halt_exits", "irq_injections"):
                if k in delta:
                    d.setdefault(k + "_per_mb", []).append(delta[k] / (sent / 1e6))
            irqs = run.markers.get(key + ".irqs")
            if irqs is not None:
                try:
                    d.setdefault("irqs_per_mb", []).append(float(irqs) / (sent / 1e6))
                except ValueError:
                    pass

    def row(desc, unit, key, stat, digits=1, higher_better=True):
        a, b = res_t["minivmm"][key].get(stat, []), res_t["qemu"][key].get(stat, [])
        ma, mb = median(a), median(b)
        ratio = f"{ma / mb:.2f}x" if ma and mb else "-"
        sa = f"{fmt(min(a), digits)}-{fmt(max(a), digits)}" if a else "-"
        sb = f"{fmt(min(b), digits)}-{fmt(max(b), digits)}" if b else "-"
        return (f"| {desc} | {unit} | {fmt(ma, digits)} | {fmt(mb, digits)} | {ratio} | {sa} | "
                f"{sb} | {len(a)}/{len(b)} |"), ma, mb

    header = ("| metric | unit | minivmm median | QEMU median | ratio (minivmm/QEMU) | "
              "minivmm spread (min-max) | QEMU spread (min-max) | runs (minivmm/QEMU) |\n"
              "|---|---|---|---|---|---|---|---|")
    shown = [t for t in TRANSFERS if not t[3] or "minivmm" in args.vmms]
    out = []
    out.append("## virtio-net / vsock: minivmm vs QEMU microvm virtio-net-device (nested harness, "
               "one L1 run)\n")
    out.append(f"Guest: {args.vcpus} vCPU, {args.memory} MiB; VMMs run: {', '.join(args.vmms)}; "
               f"{args.bytes:,} bytes ({mib:g} MiB) of zeros per transfer, one TCP/vsock stream; "
               f"{args.rounds} rounds, VMM order alternating per round. Tap tap0 in a fresh L1 "
               f"netns (L1 10.0.2.1, guest 10.0.2.15, MTU 1500); QEMU: `-netdev tap,vhost=off "
               f"-device virtio-net-device`; minivmm: `--net tap=tap0 --vsock cid={GUEST_CID},"
               f"uds=PATH` (vsock rows: minivmm only, QEMU has no hybrid vsock here). Throughput "
               f"= the sender's `socktool --stats` (bytes / time from connect until the receiver "
               f"had read everything and closed), MB/s = 10^6 B/s.\n")
    out.append(header)
    ok_ratio = True
    tput = {}
    for key, desc, sender, _ in shown:
        line, ma, mb = row(f"{desc}, sender: {sender}", "MB/s", key, "mbps")
        tput[key] = (ma, mb)
        if key.startswith("tcp") and "minivmm" in args.vmms and "qemu" in args.vmms:
            if not (ma and mb and ma / mb >= 1.2):
                ok_ratio = False
        out.append(line)
    if "minivmm" in args.vmms and "qemu" in args.vmms:
        out.append("\nTarget (TARGETS.md) virtio-net: minivmm >= 1.2x QEMU on both TCP rows: "
                   + ("met." if ok_ratio and not errors else "NOT met." if not errors else
                      "incomplete (errors below)."))
    if "minivmm" in args.vmms:
        parts = []
        met = True
        for d in ("g2h", "h2g"):
            v, t = tput.get(f"vsock_{d}", (None, None))[0], tput.get(f"tcp_{d}", (None, None))
            if v and t[0]:
                qtxt = f", QEMU tap TCP {fmt(t[1], 1)} MB/s" if t[1] else ""
                parts.append(f"{d}: vsock {fmt(v, 1)} MB/s vs minivmm tap TCP {fmt(t[0], 1)} MB/s "
                             f"= {v / t[0]:.2f}x{qtxt}")
                met = met and v >= t[0] and (not t[1] or v >= t[1])
            else:
                parts.append(f"{d}: no data")
                met = False
        out.append("\nTarget (TARGETS.md) vsock >= tap TCP throughput in the same run (medians): "
                   + "; ".join(parts) + ". " + ("met." if met and not errors else "NOT met."
                                                if not errors else "incomplete (errors below)."))

    out.append("\nVMM CPU per transfer (lower is better): CPU-seconds of the VMM process per GB "
               "(10^9 B) moved, from /proc/PID/stat in L1 (utime+stime, USER_HZ ticks) between "
               "L1's snapshots around the transfer. \"incl. guest\" counts the vCPU threads' time "
               "in the guest (the guest's own TCP stack and socktool); \"excl. guest\" subtracts "
               "guest_time, leaving the VMM's own work (device emulation, exits, tap/UDS I/O).\n")
    out.append(header)
    for key, desc, _, _ in shown:
        out.append(row(f"{desc}, VMM CPU incl. guest", "CPU-s/GB", key, "cpu_per_gb", 2)[0])
        out.append(row(f"{desc}, VMM CPU excl. guest", "CPU-s/GB", key, "cpu_noguest_per_gb",
                       2)[0])

    out.append("\nDiagnostics (medians over rounds; KVM counters are L1's global "
               "/sys/kernel/debug/kvm, only one L2 VM runs at a time; the L1 window runs from "
               "L1's snapshot before its side started to after it finished, so for g2h it also "
               "holds the guest's connect retries; guest virtio IRQs from its /proc/interrupts):\n")
    keys = [("cpu_pct", "VMM CPU % of one L1 CPU (incl. guest)", 0),
            ("l1_window_mbps", "MB/s over L1 window", 1),
            ("exits_per_mb", "KVM exits/MB", 0), ("mmio_exits_per_mb", "MMIO exits/MB", 0),
            ("halt_exits_per_mb", "HLT exits/MB", 0), ("irq_injections_per_mb", "IRQ inj./MB", 0),
            ("irqs_per_mb", "guest virtio IRQs/MB", 0)]
    out.append("| transfer | VMM | " + " | ".join(k[1] for k in keys) + " |")
    out.append("|---|---|" + "---|" * len(keys))
    for key, _, _, mv_only in shown:
        for vmm in args.vmms:
            if mv_only and vmm != "minivmm":
                continue
            d = res_t[vmm][key]
            out.append(f"| {key} | {vmm} | " + " | ".join(fmt(median(d.get(k, [])), dg)
                                                        for k, _, dg in keys) + " |")
    for vmm in args.vmms:
        if vmm in features:
            bits = features[vmm]
            names = {0: "CSUM", 1: "GUEST_CSUM", 3: "MTU", 5: "MAC", 7: "GUEST_TSO4",
                     8: "GUEST_TSO6", 10: "GUEST_UFO", 11: "HOST_TSO4", 12: "HOST_TSO6",
                     14: "HOST_UFO", 15: "MRG_RXBUF", 16: "STATUS", 17: "CTRL_VQ",
                     28: "INDIRECT_DESC", 29: "EVENT_IDX", 32: "VERSION_1"}
            on = [n for i, n in names.items() if i < len(bits) and bits[i] == "1"]
            out.append(f"\n{vmm} virtio-net features negotiated by the guest: {', '.join(on)}")
    info = [f"{n}: threads {runs[n].markers.get('l1.threads') or '?'}, L1 tap0 "
            f"{runs[n].markers.get('l1.tap0') or '?'}" for n, _ in plan if runs[n].began]
    if info:
        out.append("\nL2 VMM threads in L1 during the transfers (COUNTxNAME), L1's tap0:\n")
        out += [f"    {i}" for i in info]
    l1_lines = sorted({text[text.index("BENCH-L1"):] for _, text in res.lines
                       if "BENCH-L1 " in text})
    if l1_lines:
        out += ["", "L1: " + "; ".join(line[len("BENCH-L1 "):] for line in l1_lines)]
    out.append("\nL2 commands (in L1; PATH differs per run):\n")
    for vmm in args.vmms:
        out.append(f"    {commands[vmm]}")
    out.append(f"\nCommand: `{command}` (L1 run {res.elapsed:.0f} s, total "
               f"{time.monotonic() - t_start:.0f} s)")
    if errors:
        out.append("\nERRORS:\n")
        out += [f"- {e}" for e in errors]
    report = "\n".join(out) + "\n"
    print(report, flush=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report)
    bad = bool(errors) or res.timed_out or (res.returncode not in (0, None))
    if bad:
        if res.timed_out:
            log(f"L1 timed out / was killed ({res.stuck_scenario or 'budget'}); log {log_path}")
        log(f"FAILED; kept {workdir} (serial log {log_path})")
        return 1
    if not args.keep_log:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
