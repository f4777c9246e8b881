#!/usr/bin/env python3
"""virtio-fs benchmark: minivmm vs QEMU microvm's vhost-user-fs-device, side by side in ONE L1 boot.

Run on demand (never in CI). Reuses the nested harness of tests/e2e (read-only): the guest kernel
(guest-kernel-config/build.sh, cached), the L2 guest initramfs (tests/e2e/guest/build_initramfs.sh)
plus an appended cpio with /e2e/scripts/fsbench.sh (bench/fs/guest/fsbench.sh) and /bin/fsbench
(bench/fs/guest/fsbench.c, static, clock_gettime timing), the L1 machine (tests/e2e/l1/build_l1.sh)
with Debian's C virtiofsd as /payload/virtiofsd, and run_l1.boot_l1().

Before the first boot L1 writes a --file-mib MiB file of zeros, big.bin, into /tmp/fsbench/share
(L1's /tmp is a tmpfs: the backing store is L1 RAM, no disk in the path). R rounds run in one L1
boot; each round boots the guest once with minivmm and once with QEMU (the order alternates every
round: M Q, Q M, ...). For every boot L1 starts a fresh virtiofsd with IDENTICAL arguments
(`/payload/virtiofsd --socket-path=SOCK -o source=/tmp/fsbench/share -o cache=auto
--thread-pool-size=N`), then the VMM connects to it: minivmm `--fs tag=bench,socket=SOCK` (not
`--share`, so both VMMs get the same backend flags), QEMU `-device vhost-user-fs-device` with its
guest RAM in a shared memfd and `-global virtio-mmio.force-legacy=false` (microvm's
virtio-mmio is legacy by default, which virtiofsd refuses). With vhost-user the data path is
guest <-> virtiofsd; the VMM sets the device up and handles the guest's InterruptStatus/ack MMIO
exits; minivmm hands virtiofsd an irqfd, QEMU's virtio-mmio relays each of virtiofsd's
notifications through its main loop.

The guest (fsbench.sh) mounts the share and times five phases with fsbench:
  seqread_cold  big.bin read to EOF in 1 MiB read()s (what dd bs=1M does) after
                `echo 3 >/proc/sys/vm/drop_caches`                        (MB/s = 10^6 B/s)
  seqread_warm  the same again without drop_caches (second pass; with cache=auto virtiofsd
                does not set FOPEN_KEEP_CACHE, so it still reads through FUSE)      (MB/s)
  create        N files: open(O_CREAT|O_EXCL) + write 100 bytes + close              (ops/s)
  stat          stat() of the N files after `echo 2 >drop_caches` (a LOOKUP each)    (ops/s)
  unlink        unlink() of the N files after `echo 2 >drop_caches`                  (ops/s)
Around every phase L1 reads /proc/PID/stat of the VMM (utime+stime, and guest_time: the vCPU
threads' time in the guest) and of virtiofsd's worker process, and the global KVM exit counters
(/sys/kernel/debug/kvm): the guest announces NAME.ready and waits for L1's go (a file L1 creates in
the share right after its snapshot); L1's end snapshot follows the result marker.

Usage: bench/fs/fs_bench.py [--rounds 3] [--file-mib 128] [--files 1000] [--minivmm build/minivmm]
                            [--out FILE] [--keep-log PATH] [--vmm minivmm,qemu]
Prints Markdown tables (metric, minivmm median, QEMU median, ratio minivmm/QEMU, spread (min-max),
runs), CPU and exit diagnostics, and the exact command. Exits non-zero when a VMM or virtiofsd
fails to start, a marker is missing, a phase fails, or L1 fails / times out. Python standard
library only.
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
    raise SystemExit(f"fs_bench: ERROR: cannot import tests/e2e modules ({e!r})")

ALL_VMMS = ("minivmm", "qemu")
INITRD = "/payload/fsbench.cpio.gz"
L1_DIR = "/tmp/fsbench"
SHARE = f"{L1_DIR}/share"
TAG = "bench"
VIRTIOFSD_HOST = "/usr/lib/qemu/virtiofsd"  # qemu-system-common (scripts/setup.sh)
# (key, description, kind): kind "read" = MB/s over --file-mib, "meta" = ops/s over --files
PHASES = [
    ("seqread_cold", "sequential read, cold guest cache (drop_caches), 1 MiB read()", "read"),
    ("seqread_warm", "sequential read, 2nd pass (no drop_caches; still FUSE reads, see below)",
     "read"),
    ("create", "create: open(O_CREAT) + write 100 B + close", "meta"),
    ("stat", "stat (dentries/inodes dropped first)", "meta"),
    ("unlink", "unlink (dentries/inodes dropped first)", "meta"),
]


def log(msg):
    print(f"fs_bench: {msg}", file=sys.stderr, flush=True)


def sh(cmd, what):
    log(what)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise SystemExit(f"fs_bench: ERROR: {what} failed (rc={p.returncode}): "
                         f"{' '.join(map(shlex.quote, cmd))}")
    out = p.stdout.strip().splitlines()
    return out[-1] if out else ""


# ------------------------------------------------------------------------------------------------
# Build: guest initramfs (e2e base + fsbench.sh + fsbench), L1 scripts, L1
# ------------------------------------------------------------------------------------------------
def build_initramfs(workdir):
    base = os.path.join(workdir, "guest-base.cpio.gz")
    sh([os.path.join(E2E, "guest", "build_initramfs.sh"), base], "guest base initramfs (e2e)")
    root = os.path.join(workdir, "extra-root")
    os.makedirs(os.path.join(root, "bin"))
    os.makedirs(os.path.join(root, "e2e", "scripts"))
    sh(["gcc", "-static", "-O2", "-s", "-Wall", "-Wextra", "-o",
        os.path.join(root, "bin", "fsbench"), os.path.join(HERE, "guest", "fsbench.c")],
       "fsbench (gcc -static -O2)")
    shutil.copy(os.path.join(HERE, "guest", "fsbench.sh"),
                os.path.join(root, "e2e", "scripts", "fsbench.sh"))
    os.chmod(os.path.join(root, "e2e", "scripts", "fsbench.sh"), 0o755)
    extra = os.path.join(workdir, "extra.cpio.gz")
    # The kernel unpacks concatenated (gzip'ed) newc archives in order; later files win.
    subprocess.run(f"cd {shlex.quote(root)} && find bin e2e | LC_ALL=C sort | "
                   f"cpio --quiet -o -H newc --owner=0:0 | gzip -9 -n > {shlex.quote(extra)}",
                   shell=True, check=True)
    out = os.path.join(workdir, "fsbench.cpio.gz")
    with open(out, "wb") as f:
        for part in (base, extra):
            with open(part, "rb") as p:
                shutil.copyfileobj(p, f)
    return out


# The L1 top-level script: per run, the run script in its own session with a watchdog; after it
# ended, the VMM's console (kept in a file, which the run script greps to follow the guest) and
# virtiofsd's log are printed, then E2E-END.
L1_HEAD = r"""#!/bin/sh
# Generated by bench/fs/fs_bench.py: the virtio-fs benchmark inside L1.
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
rm -rf @DIR@; mkdir -p @SHARE@
echo "BENCH-L1 kernel=$(uname -r) nproc=$(grep -c ^processor /proc/cpuinfo) tmp-fs=$(awk '$2 == "/tmp" { print $3 }' /proc/mounts)"
[ -r /sys/kernel/debug/kvm/exits ] && echo "BENCH-L1 kvm-debugfs=yes" || echo "BENCH-L1 kvm-debugfs=no"
echo "BENCH-L1 virtiofsd=$(/payload/virtiofsd --version 2>&1 | head -n1 | tr ' ' _)"
dd if=/dev/zero of=@SHARE@/big.bin bs=1M count=@FILE_MIB@ 2>/dev/null || { echo "BENCH-L1 error=big.bin"; exit 1; }
echo "BENCH-L1 big.bin-bytes=$(stat -c %s @SHARE@/big.bin)"
run_one() {
  name=$1 limit=$2
  shift 2
  echo "E2E-BEGIN $name"
  setsid sh /payload/bench/fsrun.sh "$name" "$@" &
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
  echo "BENCH-VIRTIOFSD-LOG-BEGIN $name"
  tail -n 20 "@DIR@/$name/virtiofsd.log" 2>/dev/null
  echo "BENCH-VIRTIOFSD-LOG-END $name"
  rm -rf "@DIR@/$name"
  echo "E2E-END $name rc=$rc"
}
"""

# One run: fsrun.sh NAME VMMFILE READ_PHASE_TIMEOUT META_PHASE_TIMEOUT
L1_RUN = r"""#!/bin/sh
# Generated by bench/fs/fs_bench.py: one benchmark boot (a fresh virtiofsd, then the VMM).
name=$1 vmmfile=$2 read_t=$3 meta_t=$4
D=@DIR@/$name
SHARE=@SHARE@
rm -rf "$D"; mkdir -p "$D"
rm -rf "$SHARE/meta" "$SHARE/.go"; mkdir -p "$SHARE/.go"
mark() { printf 'MINIVMM-BENCH %s=%s\n' "$1" "$2"; }
pid= vfs= vfsw=
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
# stat3 PID: utime:stime:guest_time (USER_HZ ticks) of PID, NA:NA:NA when it is gone
stat3() {
  _st=
  read -r _st 2>/dev/null </proc/$1/stat
  # after the ")" closing comm, $1 is field 3: utime/stime (14/15) are $12/$13, guest_time (43) $41
  set -- ${_st##*) }
  echo "${12:-NA}:${13:-NA}:${41:-NA}"
}
# others PID: utime+stime (ticks) summed over the threads of PID that never ran the guest
# (guest_time 0: not vCPU threads), e.g. an event loop that relays the backend's interrupts
others() {
  _o=0
  for _t in /proc/$1/task/*; do
    _ts=
    read -r _ts 2>/dev/null <"$_t/stat" || continue
    set -- ${_ts##*) }
    [ "${41:-0}" = 0 ] && _o=$((_o + ${12:-0} + ${13:-0}))
  done
  echo $_o
}
# snap KEY: VMM u:s:g:others : virtiofsd worker u:s:g : L1 uptime :
#           KVM exits:mmio:halt:irq_injections:pf_fixed
snap() {
  _sk=$1
  if [ "$vfsw" = "$vfs" ]; then
    # With -o sandbox=namespace (the default) virtiofsd forks once the VMM connected: the parent
    # waits, the child serves. Until then there is only the parent.
    _c=$(cat /proc/$vfs/task/$vfs/children 2>/dev/null | awk '{ print $1 }')
    [ -n "$_c" ] && vfsw=$_c && mark l1.virtiofsd-worker "$vfsw"
  fi
  _vm=$(stat3 "$pid"):$(others "$pid") _fs=$(stat3 "$vfsw")
  read -r _up _ </proc/uptime
  _kvm=
  for _f in exits mmio_exits halt_exits irq_injections pf_fixed; do
    _v=NA; read -r _v 2>/dev/null </sys/kernel/debug/kvm/$_f; _kvm="$_kvm:$_v"
  done
  mark "$_sk" "$_vm:$_fs:$_up$_kvm"
}
stop_virtiofsd() {
  [ -n "$vfs" ] || return 0
  _i=0
  while kill -0 "$vfs" 2>/dev/null && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done
  if kill -0 "$vfs" 2>/dev/null; then
    mark l1.virtiofsd-exit killed
    kill -KILL "$vfs" $vfsw 2>/dev/null
  else
    mark l1.virtiofsd-exit by-itself
  fi
  wait "$vfs" 2>/dev/null
}
# threads TID:COMM:STATE:WCHAN of the VMM and of virtiofsd's worker (what a stuck run waits on)
threads() {
  for _p in $pid $vfsw; do
    for _t in /proc/$_p/task/*; do
      _ts=
      read -r _ts 2>/dev/null <"$_t/stat" || continue
      _c=${_ts#*\(}; _c=${_c%%\)*}
      set -- ${_ts##*) }
      _w=
      read -r _w 2>/dev/null <"$_t/wchan"
      printf '%s:%s:%s:%s,' "${_t##*/}" "$_c" "$1" "${_w:-?}" | tr ' ' _
    done
  done
}
fail() {
  mark l1.error "$1"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    # Is the stuck guest still doing anything? Two snapshots 2 s apart, and where threads wait.
    snap stuck.a
    sleep 2
    snap stuck.b
    mark l1.stuck-threads "$(threads)"
  fi
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null
    sleep 1
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    mark l1.vmm-rc $?
  fi
  [ -n "$vfs" ] && kill -KILL "$vfs" $vfsw 2>/dev/null
  exit 1
}
step_wait() { # KEY PATTERN SECONDS
  wait_for "$2" "$3"
  case $? in 0) return 0 ;; 1) fail "$1:vmm-exited" ;; *) fail "$1:timeout-${3}s" ;; esac
}

# The backend: identical arguments for both VMMs.
@VIRTIOFSD@ >"$D/virtiofsd.log" 2>&1 &
vfs=$!
i=0
while [ ! -S "$D/vfs.sock" ]; do
  kill -0 "$vfs" 2>/dev/null || { vfs=; fail virtiofsd-exited; }
  i=$((i + 1)); [ $i -gt 300 ] && fail virtiofsd-no-socket-30s
  sleep 0.1
done
vfsw=$vfs
mark l1.virtiofsd-pid "$vfs"

: >"$D/console.log"
sh "$vmmfile" >"$D/console.log" 2>&1 &
pid=$!
mark l1.vmm-pid "$pid"

ready_t=120  # the first phase's ready also waits for the guest to boot
for p in seqread_cold seqread_warm create stat unlink; do
  case $p in seqread*) tt=$read_t ;; *) tt=$meta_t ;; esac
  step_wait "$p" "MINIVMM-BENCH $p.ready=" "$ready_t"
  ready_t=$meta_t
  snap "$p.l1_begin"
  : >"$SHARE/.go/$p" || fail "$p:go-file"
  step_wait "$p" "MINIVMM-BENCH $p=" "$tt"
  snap "$p.l1_end"
  if [ "$p" = create ]; then
    # threads of the VMM and of virtiofsd's worker while they serve the share (COUNTxNAME)
    mark l1.threads "$(cat /proc/$pid/task/*/comm 2>/dev/null | sort | uniq -c | awk '{ printf "%s%sx%s", sep, $1, $2; sep = "," }')"
    mark l1.virtiofsd-threads "$(ls /proc/$vfsw/task 2>/dev/null | wc -l)"
  fi
done
step_wait finished "MINIVMM-BENCH finished=" 120
wait "$pid"
rc=$?
mark l1.vmm-rc "$rc"
stop_virtiofsd
rm -rf "$SHARE/meta" "$SHARE/.go"
exit $rc
"""


def run_plan(rounds, vmms):
    """[(run name, vmm)]: the VMM order alternates every round (M Q, Q M, ...)."""
    plan = []
    for r in range(1, rounds + 1):
        order = vmms if r % 2 == 1 else tuple(reversed(vmms))
        plan += [(f"r{r}-{vmm}", vmm) for vmm in order]
    return plan


def virtiofsd_command(args, sock):
    return (f"/payload/virtiofsd --socket-path={sock} -o source={SHARE} -o cache=auto "
            f"--thread-pool-size={args.thread_pool_size}")


def write_l1_scripts(workdir, args, plan, run_limit, read_limit, meta_limit):
    files = []
    head = (L1_HEAD.replace("@DIR@", L1_DIR).replace("@SHARE@", SHARE)
            .replace("@FILE_MIB@", str(args.file_mib)))
    run = (L1_RUN.replace("@VIRTIOFSD@", virtiofsd_command(args, '"$D/vfs.sock"'))
           .replace("@DIR@", L1_DIR).replace("@SHARE@", SHARE))
    run_path = os.path.join(workdir, "fsrun.sh")
    with open(run_path, "w") as f:
        f.write(run)
    files.append(f"{run_path}=bench/fsrun.sh")
    body = [head]
    commands = {}
    cmdline = f"{BASE_CMDLINE} quiet e2e.script=fsbench bench.files={args.files}"
    for name, vmm in plan:
        sock = f"{L1_DIR}/{name}/vfs.sock"
        mv = ["--fs", f"tag={TAG},socket={sock}"]
        # force-legacy=false: microvm's virtio-mmio is legacy (v1) by default, and virtiofsd
        # (libvhost-user) refuses legacy devices ("virtio legacy devices aren't supported").
        qm = ["-global", "virtio-mmio.force-legacy=false",
              "-object", f"memory-backend-memfd,id=mem,size={args.memory}M,share=on",
              "-machine", "memory-backend=mem",
              "-chardev", f"socket,id=vfs,path={sock}",
              "-device", f"vhost-user-fs-device,chardev=vfs,tag={TAG}"]
        cmd = l2_command(vmm, VMLINUX, args.memory, vcpus=args.vcpus, cmdline=cmdline,
                         initrd=INITRD, extra_minivmm=mv, extra_qemu=qm)
        commands[vmm] = cmd
        path = os.path.join(workdir, f"{name}.sh")
        with open(path, "w") as f:
            f.write(f"# fs_bench run {name}\nexec {cmd}\n")
        files.append(f"{path}=bench/{name}.sh")
        body.append(f"run_one {name} {run_limit} /payload/bench/{name}.sh {read_limit} "
                    f"{meta_limit}\n")
    body.append(f"rm -rf {L1_DIR}\n")
    script = os.path.join(workdir, "scenario.sh")
    with open(script, "w") as f:
        f.write("".join(body))
    return script, files, commands


def build_l1(args, workdir, kernel_dir, initrd, script, files):
    if not os.access(VIRTIOFSD_HOST, os.X_OK):
        raise SystemExit(f"fs_bench: ERROR: {VIRTIOFSD_HOST} missing (install qemu-system-common)")
    a = [os.path.join(E2E, "l1", "build_l1.sh"), "--out", os.path.join(workdir, "l1"),
         "--scenario", script, "--file", f"{kernel_dir}/vmlinux=vmlinux",
         "--file", f"{initrd}=fsbench.cpio.gz", "--bin", f"{VIRTIOFSD_HOST}=virtiofsd"]
    if "minivmm" in args.vmms:
        minivmm = os.path.abspath(args.minivmm)
        if not os.access(minivmm, os.X_OK):
            raise SystemExit(f"fs_bench: ERROR: minivmm binary {minivmm} not found or not "
                             "executable (build it, pass --minivmm PATH, or use --vmm qemu)")
        help_text = subprocess.run([minivmm, "run", "--help"], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True).stdout
        if "--fs" not in help_text:
            raise SystemExit(f"fs_bench: ERROR: {minivmm} has no --fs option "
                             "(`minivmm run --help`); rebuild it or use --vmm qemu")
        a += ["--bin", f"{minivmm}=minivmm"]
    if "qemu" in args.vmms:
        qemu = shutil.which("qemu-system-x86_64")
        if not qemu:
            raise SystemExit("fs_bench: ERROR: qemu-system-x86_64 not found (scripts/setup.sh)")
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

    def tail(self, n=25):
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


SNAP_FIELDS = ("vmm_utime", "vmm_stime", "vmm_guest", "vmm_other", "fs_utime", "fs_stime", "fs_guest", "up",
               "exits", "mmio_exits", "halt_exits", "irq_injections", "pf_fixed")


def snap_delta(run, key, begin=".l1_begin", end=".l1_end"):
    """{field: delta} between KEY.l1_begin and KEY.l1_end (CPU fields in seconds), {} when a
    snapshot is missing; a field whose value is NA in either snapshot is left out."""
    a, b = run.markers.get(key + begin), run.markers.get(key + end)
    if not a or not b:
        return {}
    out = {}
    for n, x, y in zip(SNAP_FIELDS, a.split(":"), b.split(":")):
        try:
            d = float(y) - float(x)
        except ValueError:
            continue
        out[n] = d / 100.0 if n.startswith(("vmm_", "fs_")) else d  # USER_HZ ticks -> s
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
    ap.add_argument("--file-mib", type=int, default=128, help="size of the file read "
                    "sequentially, MiB (default 128)")
    ap.add_argument("--files", type=int, default=1000, help="small files created, stat'ed and "
                    "unlinked (default 1000)")
    ap.add_argument("--vmm", default="minivmm,qemu",
                    help="VMMs to run: minivmm,qemu (default), minivmm or qemu")
    ap.add_argument("--minivmm", default=os.path.join(REPO, "build", "minivmm"))
    ap.add_argument("--out", metavar="FILE", help="also write the report (Markdown) here")
    ap.add_argument("--keep-log", metavar="PATH", help="write L1's serial log here")
    ap.add_argument("--memory", type=int, help="guest MiB (default: 256 + --file-mib, room "
                    "for the whole file in the guest's page cache)")
    ap.add_argument("--vcpus", type=int, default=1, help="guest vCPUs (default 1)")
    ap.add_argument("--thread-pool-size", type=int, default=2, help="virtiofsd "
                    "--thread-pool-size for both VMMs (default 2, as the recorded results; "
                    "minivmm's own --share launcher uses 0, because with a pool this "
                    "virtiofsd can be killed by its own seccomp filter, see "
                    "devices/fs/virtiofsd_launcher.hpp)")
    ap.add_argument("--kernel-dir", help="guest kernel dir with vmlinux (default: "
                    "guest-kernel-config/build.sh, cached)")
    ap.add_argument("--timeout", type=float, help="L1 budget in seconds (default: from rounds)")
    args = ap.parse_args()
    args.vmms = tuple(v for v in ALL_VMMS if v in args.vmm.split(","))
    if not args.vmms or any(v not in ALL_VMMS for v in args.vmm.split(",") if v):
        ap.error(f"--vmm {args.vmm}: expected minivmm, qemu or minivmm,qemu")
    if args.rounds < 1 or args.file_mib < 1 or args.files < 1 or args.thread_pool_size < 0:
        ap.error("--rounds, --file-mib and --files must be positive")
    if args.memory is None:
        args.memory = 256 + args.file_mib
    file_bytes = args.file_mib << 20
    command = " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0], REPO)] + sys.argv[1:])

    t_start = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="minivmm-fsbench.")
    plan = run_plan(args.rounds, args.vmms)
    # In-L1 time limits. Per phase: reads at >= 4 MB/s, metadata at >= 8 ops/s (measured under
    # load: 13-120 MB/s, 18-590 ops/s). Per boot: guest boot, 5 phases, shutdown. They also bound
    # how long a wedged L1 goes unnoticed (run_l1 kills it 60 s after a run's limit).
    read_limit = int(max(45, file_bytes / 1e6 / 4))
    meta_limit = int(max(45, args.files / 8))
    run_limit = 90 + 2 * read_limit + 3 * meta_limit
    log_path = args.keep_log or os.path.join(workdir, "l1-serial.log")

    def boot(sub_plan, sub_dir, sub_log):
        """Builds an L1 for sub_plan in sub_dir and boots it: (L1 result, {name: Run}, commands)."""
        os.makedirs(sub_dir, exist_ok=True)
        script, files, cmds = write_l1_scripts(sub_dir, args, sub_plan, run_limit, read_limit,
                                               meta_limit)
        l1_dir = build_l1(args, sub_dir, kernel_dir, initrd, script, files)
        budget = args.timeout or 180 + len(sub_plan) * run_limit
        r = run_l1.boot_l1(os.path.join(l1_dir, "vmlinuz"), os.path.join(l1_dir, "l1.cpio.gz"),
                           sub_log, budget, scenario_limits={n: run_limit for n, _ in sub_plan})
        shutil.rmtree(os.path.join(sub_dir, "l1"), ignore_errors=True)
        return r, parse(r.lines, sub_plan), cmds

    try:
        kernel_dir = args.kernel_dir or sh([os.path.join(REPO, "guest-kernel-config", "build.sh")],
                                           "guest kernel (guest-kernel-config/build.sh)")
        initrd = build_initramfs(workdir)
        res, runs, commands = boot(plan, workdir, log_path)
    except SystemExit as e:
        print(e, flush=True)
        log(f"kept {workdir}")
        return 1
    owner = {name: res for name, _ in plan}  # the L1 boot each run's result comes from
    l1_results = [res]
    notes = []
    errors = []
    if res.stuck_scenario:
        # The nested harness's rare whole-L1 freeze (tests/e2e/README.md: no output, L1's own
        # watchdog never fires): boot a fresh L1 once for the unfinished runs, and say so.
        unfinished = [(n, v) for n, v in plan if runs[n].rc is None]
        note = (f"L1 wedged in {res.stuck_scenario} (no output; L1's own watchdog never fired: "
                f"the nested harness's rare whole-L1 freeze, tests/e2e/README.md); a fresh L1 "
                f"was booted once for the {len(unfinished)} unfinished run(s) "
                f"{', '.join(n for n, _ in unfinished)}"
                + (f" (logs {log_path}, {log_path}.retry)" if args.keep_log else ""))
        log("WARNING: " + note)
        notes.append(note)
        try:
            res, retry_runs, _ = boot(unfinished, os.path.join(workdir, "retry"),
                                      log_path + ".retry")
        except SystemExit as e:
            errors.append(f"retry L1 could not be built: {e}")
        else:
            runs.update(retry_runs)
            owner.update({n: res for n, _ in unfinished})
            l1_results.append(res)
    all_lines = [line for r in l1_results for line in r.lines]

    # Failures: a VMM that never finished, failed, or a missing marker.
    for r in l1_results:
        if r.l1_error:
            errors.append(f"L1: {r.l1_error}")
    for _, text in all_lines:
        if "BENCH-L1 error=" in text:
            errors.append(f"L1: {text[text.index('BENCH-L1 '):]}")
    for name, vmm in plan:
        run = runs[name]
        res = owner[name]
        if not run.began:
            why = ("L1 wedged in " + res.stuck_scenario if res.stuck_scenario else
                   "L1 timed out" if res.timed_out else f"L1 exited rc={res.returncode}")
            errors.append(f"{name}: {vmm} never started ({why})")
            continue
        if run.rc is None:
            errors.append(f"{name}: {vmm} did not finish (L1 timed out or wedged); last lines:\n"
                          f"{run.tail()}")
            continue
        stuck = ""
        if run.markers.get("stuck.a") and run.markers.get("stuck.b"):
            dl = snap_delta(run, "stuck", ".a", ".b")
            stuck = (f"\n  still running when L1 gave up; in {dl.get('up', 0):.1f} s: VMM CPU "
                     f"{dl.get('vmm_utime', 0) + dl.get('vmm_stime', 0):.2f} s (guest "
                     f"{dl.get('vmm_guest', 0):.2f} s), virtiofsd CPU "
                     f"{dl.get('fs_utime', 0) + dl.get('fs_stime', 0):.2f} s, KVM exits "
                     f"{dl.get('exits', 0):.0f} (MMIO {dl.get('mmio_exits', 0):.0f}, HLT "
                     f"{dl.get('halt_exits', 0):.0f}, IRQ injections "
                     f"{dl.get('irq_injections', 0):.0f}); threads TID:COMM:STATE:WCHAN: "
                     f"{run.markers.get('l1.stuck-threads') or '?'}")
        if "mount" not in run.markers:
            errors.append(f"{name}: {vmm} did not boot the guest into fsbench.sh or the guest "
                          f"could not mount the share (no `mount` marker; run rc={run.rc}, "
                          f"L1 error {run.markers.get('l1.error') or 'none'}){stuck}; last "
                          f"lines:\n{run.tail()}")
            continue
        need = ["finished"]
        for key, _, _ in PHASES:
            need += [key, key + ".secs", key + ".ops", key + ".l1_begin", key + ".l1_end"]
        missing = [k for k in need if not run.markers.get(k)]
        failed = {k: v for k, v in run.markers.items()
                  if k.endswith((".failed", ".error")) or k in ("error", "l1.error")}
        short = []
        for key, _, kind in PHASES:
            got = run.markers.get(key + (".bytes" if kind == "read" else ".ops"))
            want = file_bytes if kind == "read" else args.files
            if got is not None and got != str(want):
                short.append(f"{key}: {got} of {want} {'bytes' if kind == 'read' else 'files'}")
        if missing or failed or short or run.rc != 0:
            errors.append(f"{name}: {vmm} run rc={run.rc}, missing {missing or 'nothing'}, "
                          f"errors {failed or 'none'}{', ' + '; '.join(short) if short else ''}"
                          f"{stuck}; last lines:\n{run.tail()}")

    # Per VMM and phase: lists over rounds. "unit" = MB for reads, op for metadata.
    res_p = {vmm: {p[0]: {} for p in PHASES} for vmm in ALL_VMMS}
    features = {}
    for name, vmm in plan:
        run = runs[name]
        if "fs-features" in run.markers:
            features.setdefault(vmm, run.markers["fs-features"])
        for key, _, kind in PHASES:
            try:
                value = float(run.markers[key])
                ops = int(run.markers[key + ".ops"])
                secs = float(run.markers[key + ".secs"])
            except (KeyError, ValueError):
                continue
            if secs <= 0 or ops <= 0:
                continue
            d = res_p[vmm][key]
            d.setdefault("value", []).append(value)
            units = file_bytes / 1e6 if kind == "read" else ops
            for k in ("busy_pct", "iowait_pct"):
                try:
                    d.setdefault(k, []).append(float(run.markers[f"{key}.{k}"]))
                except (KeyError, ValueError):
                    pass
            irqs = run.markers.get(key + ".irqs")
            if irqs is not None:
                try:
                    d.setdefault("irqs_per_unit", []).append(float(irqs) / units)
                except ValueError:
                    pass
            delta = snap_delta(run, key)
            # CPU per unit: reads in CPU-s per GB (10^9 B), metadata in CPU-us per op
            scale = (1e3 / units) if kind == "read" else (1e6 / units)
            if "vmm_utime" in delta and "vmm_stime" in delta:
                cpu = delta["vmm_utime"] + delta["vmm_stime"]
                d.setdefault("vmm_cpu", []).append(cpu * scale)
                if "vmm_guest" in delta:
                    # guest_time is part of utime; both are tick-sampled separately, so the
                    # difference can come out slightly negative: shown as 0
                    d.setdefault("vmm_user", []).append(
                        max(0.0, delta["vmm_utime"] - delta["vmm_guest"]) * scale)
                if "vmm_other" in delta:
                    d.setdefault("vmm_other", []).append(delta["vmm_other"] * scale)
                d.setdefault("vmm_sys", []).append(delta["vmm_stime"] * scale)
                if delta.get("up"):
                    d.setdefault("vmm_cpu_pct", []).append(100 * cpu / delta["up"])
            if "fs_utime" in delta and "fs_stime" in delta:
                cpu = delta["fs_utime"] + delta["fs_stime"]
                d.setdefault("fs_cpu", []).append(cpu * scale)
                if delta.get("up"):
                    d.setdefault("fs_cpu_pct", []).append(100 * cpu / delta["up"])
            if delta.get("up"):
                d.setdefault("l1_window_s", []).append(delta["up"])
                d.setdefault("guest_s", []).append(secs)
            for k in ("exits", "mmio_exits", "halt_exits", "irq_injections", "pf_fixed"):
                if k in delta:
                    d.setdefault(k + "_per_unit", []).append(delta[k] / units)

    def row(desc, unit, key, stat, digits=1):
        a, b = res_p["minivmm"][key].get(stat, []), res_p["qemu"][key].get(stat, [])
        ma, mb = median(a), median(b)
        ratio = f"{ma / mb:.2f}x" if ma and mb else "-"
        sa = f"{fmt(min(a), digits)}-{fmt(max(a), digits)}" if a else "-"
        sb = f"{fmt(min(b), digits)}-{fmt(max(b), digits)}" if b else "-"
        return (f"| {desc} | {unit} | {fmt(ma, digits)} | {fmt(mb, digits)} | {ratio} | {sa} | "
                f"{sb} | {len(a)}/{len(b)} |")

    header = ("| metric | unit | minivmm median | QEMU median | ratio (minivmm/QEMU) | "
              "minivmm spread (min-max) | QEMU spread (min-max) | runs (minivmm/QEMU) |\n"
              "|---|---|---|---|---|---|---|---|")
    vfs_cmd = virtiofsd_command(args, "SOCK")
    vfs_version = next((t.split("BENCH-L1 virtiofsd=", 1)[1].replace("_", " ")
                        for _, t in all_lines if "BENCH-L1 virtiofsd=" in t), "version unknown")
    out = []
    out.append("## virtio-fs: minivmm vs QEMU microvm vhost-user-fs-device (nested harness, "
               "one L1 run)\n")
    out.append(f"Guest: {args.vcpus} vCPU, {args.memory} MiB; VMMs run: {', '.join(args.vmms)}; "
               f"{args.rounds} rounds, VMM order alternating per round. Share: L1's {SHARE} "
               f"(tmpfs, L1 RAM) with a {args.file_mib} MiB file of zeros and {args.files:,} "
               f"small files made by the guest. Backend: for EVERY boot L1 starts a fresh "
               f"virtiofsd ({vfs_version}) with the same arguments for both VMMs: `{vfs_cmd}` "
               f"(sandbox=namespace by default); minivmm connects with `--fs tag={TAG},socket="
               f"SOCK` (not `--share`, which would start its own virtiofsd), QEMU with `-device "
               f"vhost-user-fs-device,chardev=vfs,tag={TAG}` with its RAM in a shared memfd and "
               f"`-global virtio-mmio.force-legacy=false` (microvm's virtio-mmio is legacy by "
               f"default, which virtiofsd refuses). Device defaults differ: virtqueue size 1024 "
               f"(minivmm) vs 128 (QEMU's queue-size), one request queue each. Timing inside the "
               f"guest with clock_gettime (bench/fs/guest/fsbench.c); MB/s = 10^6 B/s.\n")
    out.append(header)
    for key, desc, kind in PHASES:
        unit = "MB/s" if kind == "read" else "ops/s"
        if kind == "read":
            desc = f"{desc}, {args.file_mib} MiB file"
        out.append(row(desc, unit, key, "value", 1 if kind == "read" else 0))
    out.append("\nHeadline: the cold sequential read (first row). The second pass skips "
               "drop_caches, but virtiofsd with cache=auto does not set FOPEN_KEEP_CACHE, so the "
               "guest drops the file's pages at open() and this pass is also read through FUSE; "
               "what differs is that the guest RAM it reads into was already touched once "
               "(see the NPT-fault column below). Metadata rows: each phase covers "
               f"all {args.files:,} files; dentries and inodes are dropped before stat and unlink "
               "so each operation is a FUSE round trip to virtiofsd.")

    out.append("\nCPU per phase (lower is better), from /proc/PID/stat in L1 between L1's "
               "snapshots around the phase (USER_HZ ticks, so short phases are coarse): read "
               "rows in CPU-seconds per GB (10^9 B), metadata rows in CPU-microseconds per "
               "operation. \"VMM incl. guest\" counts the vCPU threads' time in the guest (the "
               "guest's FUSE client and fsbench); \"VMM user\" is utime - guest_time (0 when "
               "tick sampling makes it negative), the VMM's own user-space code; \"VMM kernel\" "
               "is stime: L1 KVM's exit handling on the vCPU threads (nested page faults, "
               "in-kernel ioeventfd/irqfd, entering the guest) plus the VMM's syscalls; \"VMM "
               "non-vCPU threads\" is the part of user + kernel spent in threads that never ran "
               "the guest (event loops, e.g. one that relays virtiofsd's used-buffer "
               "notifications into the guest's interrupt); "
               "\"virtiofsd\" is the backend's worker process (the same binary and flags for "
               "both VMMs).\n")
    out.append(header)
    for key, _, kind in PHASES:
        unit = "CPU-s/GB" if kind == "read" else "CPU-us/op"
        for stat, what in (("vmm_cpu", "VMM incl. guest"), ("vmm_user", "VMM user"),
                           ("vmm_sys", "VMM kernel"), ("vmm_other", "VMM non-vCPU threads"),
                           ("fs_cpu", "virtiofsd")):
            out.append(row(f"{key}, {what}", unit, key, stat, 2 if kind == "read" else 0))

    out.append("\nDiagnostics (medians over rounds; per unit = per MB for reads, per operation "
               "for metadata; KVM counters are L1's global /sys/kernel/debug/kvm, only one L2 VM "
               "runs at a time; the L1 window runs from L1's snapshot before its go signal to "
               "its snapshot after the result line, so it is longer than the guest's own "
               "timing; guest virtio IRQs from its /proc/interrupts, guest busy % from its "
               "/proc/stat):\n")
    keys = [("guest_s", "guest-timed s", 2), ("l1_window_s", "L1 window s", 2),
            ("vmm_cpu_pct", "VMM CPU % (incl. guest)", 0),
            ("fs_cpu_pct", "virtiofsd CPU %", 0), ("busy_pct", "guest busy %", 0),
            ("exits_per_unit", "KVM exits/unit", 2), ("mmio_exits_per_unit", "MMIO exits/unit", 2),
            ("halt_exits_per_unit", "HLT exits/unit", 2),
            ("pf_fixed_per_unit", "NPT faults fixed/unit", 2),
            ("irq_injections_per_unit", "IRQ inj./unit", 2),
            ("irqs_per_unit", "guest virtio IRQs/unit", 2)]
    out.append("| phase | VMM | " + " | ".join(k[1] for k in keys) + " |")
    out.append("|---|---|" + "---|" * len(keys))
    for key, _, _ in PHASES:
        for vmm in args.vmms:
            d = res_p[vmm][key]
            out.append(f"| {key} | {vmm} | " + " | ".join(fmt(median(d.get(k, [])), dg)
                                                        for k, _, dg in keys) + " |")
    names = {0: "FS_NOTIFICATION", 24: "NOTIFY_ON_EMPTY", 27: "ANY_LAYOUT",
             28: "INDIRECT_DESC", 29: "EVENT_IDX", 32: "VERSION_1", 33: "ACCESS_PLATFORM", 34: "RING_PACKED", 35: "IN_ORDER"}
    for vmm in args.vmms:
        if vmm in features:
            bits = features[vmm]
            on = [n for i, n in names.items() if i < len(bits) and bits[i] == "1"]
            out.append(f"\n{vmm} virtio-fs features negotiated by the guest: "
                       f"{', '.join(on) or 'none of the transport bits'} (bits {bits.rstrip('0')})")
    info = [f"{n}: VMM threads {runs[n].markers.get('l1.threads') or '?'}; virtiofsd "
            f"pid {runs[n].markers.get('l1.virtiofsd-pid') or '?'} worker "
            f"{runs[n].markers.get('l1.virtiofsd-worker') or 'none (no fork seen)'}, "
            f"{runs[n].markers.get('l1.virtiofsd-threads') or '?'} threads, exit "
            f"{runs[n].markers.get('l1.virtiofsd-exit') or '?'}"
            for n, _ in plan if runs[n].began]
    if info:
        out.append("\nL2 VMM and virtiofsd processes in L1 (threads as COUNTxNAME after the "
                   "create phase; how virtiofsd ended after the VMM exited):\n")
        out += [f"    {i}" for i in info]
    l1_lines = sorted({text[text.index("BENCH-L1"):] for _, text in all_lines
                       if "BENCH-L1 " in text})
    if l1_lines:
        out += ["", "L1: " + "; ".join(line[len("BENCH-L1 "):] for line in l1_lines)]
    out.append("\nL1 commands per boot (SOCK and the run directory differ per run):\n")
    out.append(f"    {virtiofsd_command(args, f'{L1_DIR}/RUN/vfs.sock')}")
    for vmm in args.vmms:
        out.append(f"    {commands[vmm]}")
    out.append(f"\nCommand: `{command}` (L1 run{'s' if len(l1_results) > 1 else ''} "
               f"{' + '.join(f'{r.elapsed:.0f}' for r in l1_results)} s, total "
               f"{time.monotonic() - t_start:.0f} s)")
    if notes:
        out.append("\nNOTES:\n")
        out += [f"- {n}" for n in notes]
    if errors:
        out.append("\nERRORS:\n")
        out += [f"- {e}" for e in errors]
    report = "\n".join(out) + "\n"
    print(report, flush=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report)
    last = l1_results[-1]
    bad = bool(errors) or last.timed_out or (last.returncode not in (0, None))
    if bad:
        if last.timed_out:
            log(f"L1 timed out / was killed ({last.stuck_scenario or 'budget'}); log {log_path}")
        log(f"FAILED; kept {workdir} (serial log {log_path})")
        return 1
    if not args.keep_log:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
