#!/usr/bin/env python3
"""Boot to guest /init: minivmm vs QEMU microvm, same kernel + initrd, alternating in ONE L1 boot.

Run on demand (never in CI). The guest is the project's kernel (guest-kernel-config/build.sh,
cached: vmlinux booted through PVH, optionally bzImage) and an initramfs holding only /dev/console
and /init = bench/boot/guest/init_mark.c (prints MINIVMM-INIT, writes 0x41 to the boot-timer port
0x440, reboots through the i8042). Inside L1 (tests/e2e/l1/build_l1.sh + run_l1.boot_l1) R rounds
run; each boots the guest once with minivmm and once with QEMU `-M microvm` (flags from the e2e
harness's l2_command, so both get the same memory, cmdline and console), order alternating (M Q,
Q M, ...). Every boot runs under bench/common/stopwatch (exec -> first output, -> MINIVMM-INIT on
the console, -> exit; CPU ms; peak RSS), its output goes to L1's tmpfs and is printed only after
the VMM exited (L1's emulated serial console never back-pressures a measured boot). minivmm also
runs with --boot-timing=json (its own phases since exec). After the rounds, untimed extra boots
per VMM: --diag-runs with in-kernel histograms of L1's kvm_exit / kvm_pio / kvm_msr tracepoints
(exit reasons, I/O ports, MSRs) and L1's page-fault / THP counters, --kmsg-runs where /init
prints the guest kernel log (the guest's own timeline); then `minivmm bench --runs N --json` once.
If L1 wedges (a known rare flake of the nested emulation, tests/e2e/README.md) the rest, from the
start of the interrupted round, runs in one fresh L1 and the report says so.

Usage: bench/boot/boot_bench.py [--rounds 20] [--image vmlinux|bzimage|both] [--minivmm PATH]
                                [--out FILE] [--chart PNG] [--keep-log PATH] [--bench-runs 10]
                                [--diag-runs 1] [--kmsg-runs 3]
Prints a Markdown report (medians, min-max, ratio minivmm/QEMU, runs, the TARGETS.md line, phase
and exit tables, exact commands) to stdout and --out, and draws the phase chart with gnuplot
(bench/boot/phases.gp; data in the .dat next to the PNG). Progress on stderr. Exits non-zero when a
VMM fails to boot, a marker is missing, or L1 fails / times out. Python standard library only.
"""
import argparse
import gzip
import json
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
    from harness import BASE_CMDLINE, l2_command  # noqa: E402
except Exception as e:  # tests/e2e is edited by others; say so instead of a bare traceback
    raise SystemExit(f"boot_bench: ERROR: cannot import tests/e2e modules ({e!r})")

VMMS = ("minivmm", "qemu")
NAMES = {"minivmm": "minivmm", "qemu": "QEMU microvm"}
IMAGES = {"vmlinux": ("vmlinux", "/payload/vmlinux", "vmlinux (PVH)"),
          "bzimage": ("bzImage", "/payload/bzImage", "bzImage")}
INITRD = "/payload/init.cpio.gz"
MARKER = "MINIVMM-INIT"
TARGET = 0.7
PHASE_ORDER = ("config_parsed", "vm_created", "memory_ready", "kernel_loaded", "devices_created",
               "vcpus_created", "first_kvm_run")
SW_KEYS = ("first_output_ms", "marker_ms", "exit_ms", "exit_code", "cpu_ms", "maxrss_kib")
_SW = re.compile(r"first_output_ms=\S+ marker_ms=\S+.*")
_OUT = re.compile(r"^(OUT|VMM|ERR)\| ?(.*)$")


def log(msg):
    print(f"boot_bench: {msg}", file=sys.stderr, flush=True)


def sh(cmd, what):
    log(what)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise SystemExit(f"boot_bench: ERROR: {what} failed (rc={p.returncode}): "
                         f"{' '.join(map(shlex.quote, cmd))}")
    out = p.stdout.strip().splitlines()
    return out[-1] if out else ""


# ------------------------------------------------------------------------------------------------
# Build: init_mark + initramfs (written here: a newc cpio needs no root for /dev/console),
# stopwatch, L1 script, L1
# ------------------------------------------------------------------------------------------------
def newc(entries):
    """entries: (name, mode, data, rdev_major, rdev_minor) -> newc archive bytes."""
    out = bytearray()
    for ino, (name, mode, data, rmaj, rmin) in enumerate(entries + [("TRAILER!!!", 0, b"", 0, 0)]):
        nm = name.encode() + b"\0"
        fields = (ino + 1, mode, 0, 0, 1, 0, len(data), 0, 0, rmaj, rmin, len(nm), 0)
        out += b"070701" + "".join(f"{f:08x}" for f in fields).encode() + nm
        out += b"\0" * (-len(out) % 4) + data
        out += b"\0" * (-len(out) % 4)
    return bytes(out)


def build_initramfs(workdir):
    init = os.path.join(workdir, "init_mark")
    sh(["gcc", "-static", "-Os", "-s", "-Wall", "-Wextra", "-Werror", "-o", init,
        os.path.join(HERE, "guest", "init_mark.c")], "init_mark (gcc -static -Os)")
    with open(init, "rb") as f:
        data = f.read()
    cpio = newc([("dev", 0o040755, b"", 0, 0), ("dev/console", 0o020600, b"", 5, 1),
                 ("dev/kmsg", 0o020644, b"", 1, 11), ("init", 0o100755, data, 0, 0)])
    out = os.path.join(workdir, "init.cpio.gz")
    with open(out, "wb") as f:
        f.write(gzip.compress(cpio, 9, mtime=0))
    return out, len(data), os.path.getsize(out)


def build_stopwatch(workdir):
    src = os.path.join(REPO, "bench", "common", "stopwatch.c")
    if not os.path.exists(src):
        raise SystemExit(f"boot_bench: ERROR: {src} missing (the shared stopwatch tool)")
    out = os.path.join(workdir, "stopwatch")
    sh(["gcc", "-static", "-O2", "-s", "-Wall", "-Wextra", "-o", out, src],
       "stopwatch (gcc -static -O2)")
    return out


L1_HEAD = r"""#!/bin/sh
# Generated by bench/boot/boot_bench.py: boot-latency runs inside L1.
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
T=/sys/kernel/debug/tracing
D=/tmp/bootbench
mkdir -p $D
# L1's own kernel messages (kvm's unhandled-MSR notes...) stay off the serial console while a
# boot is timed; they are printed at the end.
dmesg -n 1
echo "BENCH-L1 kernel=$(uname -r) nproc=$(grep -c ^processor /proc/cpuinfo) mem=$(awk '/MemTotal/ { print $2 }' /proc/meminfo)kB thp=$(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null | tr ' ' ,) shmem-thp=$(cat /sys/kernel/mm/transparent_hugepage/shmem_enabled 2>/dev/null | tr ' ' ,)"
# Exit diagnostics (the diag runs only): in-kernel histograms of the kvm_exit / kvm_pio / kvm_msr
# tracepoints (hist triggers), or, if the kernel has none, the trace buffer counted with awk.
EV="kvm_exit:exit_reason kvm_pio:port,rw kvm_msr:ecx,write"
VMSTAT="pgfault thp_fault_alloc thp_file_alloc"
vmstat() { for k in $VMSTAT; do awk -v k=$k '$1 == k { printf "%s=%s ", k, $2 }' /proc/vmstat; done; }
diag_begin() {
  vm_before=$(vmstat)
  dmode=none
  [ -d $T/events/kvm/kvm_exit ] || return 0
  if echo 'hist:keys=exit_reason:size=256' >$T/events/kvm/kvm_exit/trigger 2>/dev/null; then
    echo 'hist:keys=port,rw:size=256' >$T/events/kvm/kvm_pio/trigger
    echo 'hist:keys=ecx,write:size=256' >$T/events/kvm/kvm_msr/trigger
    dmode=hist
  else
    echo 0 >$T/tracing_on; echo >$T/trace; echo 65536 >$T/buffer_size_kb
    for e in kvm_exit kvm_pio kvm_msr; do echo 1 >$T/events/kvm/$e/enable; done
    echo 1 >$T/tracing_on
    dmode=trace
  fi
}
diag_end() {
  vm_after=$(vmstat)
  echo "DIAG| vmstat $vm_before| $vm_after"
  echo "DIAG| mode $dmode"
  case $dmode in
  hist)
    for ek in $EV; do
      e=${ek%%:*} k=${ek#*:}
      grep -E '^\{|Hits:|Dropped:' $T/events/kvm/$e/hist | sed "s/^/DIAG| $e /"
      echo "!hist:keys=$k:size=256" >$T/events/kvm/$e/trigger
    done ;;
  trace)
    echo 0 >$T/tracing_on
    for e in kvm_exit kvm_pio kvm_msr; do echo 0 >$T/events/kvm/$e/enable; done
    awk '/ kvm_exit: / { for (i = 1; i < NF; i++) if ($i == "reason") { c["kvm_exit " $(i + 1)]++; break } }
         / kvm_pio: / { for (i = 1; i < NF; i++) if ($i ~ /^pio_/) { c["kvm_pio " $i " " $(i + 2)]++; break } }
         / kvm_msr: / { for (i = 1; i < NF; i++) if ($i ~ /^msr_/) { c["kvm_msr " $i " " $(i + 1)]++; break } }
         / LOST / { c["lost"]++ }
         END { for (k in c) print "DIAG| count " k " " c[k] }' $T/trace
    echo >$T/trace ;;
  esac
}
# run_one NAME LIMIT FILE [diag]: FILE in its own session with a watchdog; its stdout/stderr (and
# stopwatch's copy of the VMM's stdout, $D/vmm.out) go to L1's tmpfs and are printed (prefixed
# OUT| / VMM| / ERR|) only after it ended.
run_one() {
  name=$1 limit=$2 file=$3 diag=$4
  echo "E2E-BEGIN $name"
  rm -f $D/vmm.out
  [ -n "$diag" ] && diag_begin
  setsid sh "$file" >$D/out 2>$D/err </dev/null &
  pid=$!
  ( sleep "$limit"; echo "BENCH-TIMEOUT $name after ${limit}s"; kill -KILL -- "-$pid" "$pid" 2>/dev/null ) &
  watchdog=$!
  wait "$pid"
  rc=$?
  if ! kill -0 "$watchdog" 2>/dev/null; then rc=124; fi
  kill "$watchdog" 2>/dev/null
  wait "$watchdog" 2>/dev/null
  [ -n "$diag" ] && diag_end
  sed 's/^/OUT| /' $D/out
  [ -f $D/vmm.out ] && sed 's/^/VMM| /' $D/vmm.out
  sed 's/^/ERR| /' $D/err
  echo "E2E-END $name rc=$rc"
}
"""


def run_plan(args):
    """[(run name, image, vmm, kind)] in L1 order: the timed rounds (the VMM order alternates
    every round: M Q, Q M, ...), then the diag boots (exit histograms; not timed), then
    `minivmm bench` once per image."""
    plan = []
    for r in range(1, args.rounds + 1):
        order = VMMS if r % 2 == 1 else tuple(reversed(VMMS))
        plan += [(f"r{r}-{img}-{vmm}", img, vmm, "timed") for img in args.images for vmm in order]
    for d in range(1, args.diag_runs + 1):
        plan += [(f"d{d}-{img}-{vmm}", img, vmm, "diag") for img in args.images for vmm in VMMS]
    for d in range(1, args.kmsg_runs + 1):
        plan += [(f"k{d}-{img}-{vmm}", img, vmm, "kmsg") for img in args.images for vmm in VMMS]
    if args.bench_runs > 0:
        plan += [(f"mbench-{img}", img, "minivmm", "mbench") for img in args.images]
    return plan


def commands(args):
    """{(image, vmm, kind): shell command in L1}, {image: minivmm bench command}. The diag
    boots use the timed command; the kmsg boots add bootbench_dmesg=1 (init_mark then prints
    the kernel log after the marker)."""
    cmds, mbench = {}, {}
    for img in args.images:
        kernel = IMAGES[img][1]
        for vmm in VMMS:
            for kind, extra in (("timed", ""), ("kmsg", " bootbench_dmesg=1")):
                l2 = l2_command(vmm, kernel, args.memory, cmdline=args.cmdline + extra,
                                initrd=INITRD, extra_minivmm=["--boot-timing=json"])
                # The VMM's stdout (guest console, minivmm's JSON) is copied to a tmpfs file,
                # both of its streams to stopwatch's stderr (diagnostics); stopwatch's stdout
                # is its one result line.
                cmds[(img, vmm, kind)] = (f"/payload/stopwatch --marker {MARKER} --timeout "
                                          f"{args.run_timeout:g} --copy-stdout "
                                          f"/tmp/bootbench/vmm.out --verbose -- {l2}")
            cmds[(img, vmm, "diag")] = cmds[(img, vmm, "timed")]
        mbench[img] = " ".join(shlex.quote(a) for a in [
            "/payload/minivmm", "bench", "--kernel", kernel, "--initrd", INITRD, "--cmdline",
            args.cmdline, "--memory", str(args.memory), "--runs", str(args.bench_runs),
            "--json"]) + " </dev/null"
    return cmds, mbench


def write_l1_script(workdir, args, plan, cmds, mbench, tag=""):
    body = [L1_HEAD]
    files, limits = [], {}
    for name, img, vmm, kind in plan:
        if kind == "mbench":
            cmd, limit = mbench[img], 60 + args.bench_runs * args.run_timeout / 2
        else:
            cmd, limit = cmds[(img, vmm, kind)], args.run_timeout + 15
        path = os.path.join(workdir, f"{name}{tag}.sh")
        with open(path, "w") as f:
            f.write(f"# boot_bench run {name}\nexec {cmd}\n")
        files.append(f"{path}=bench/{name}.sh")
        limits[name] = int(limit)
        body.append(f"run_one {name} {int(limit)} /payload/bench/{name}.sh"
                    f"{' diag' if kind == 'diag' else ''}\n")
    body.append("echo 'L1 kernel messages (kvm):'; dmesg | grep -i -E 'kvm|svm' | tail -n 20 | "
                "sed 's/^/L1-DMESG /'\nrm -rf $D\n")
    script = os.path.join(workdir, f"scenario{tag}.sh")
    with open(script, "w") as f:
        f.write("".join(body))
    return script, files, limits


def build_l1(args, workdir, kernel_dir, initrd, stopwatch, script, files, tag=""):
    qemu = shutil.which("qemu-system-x86_64")
    if not qemu:
        raise SystemExit("boot_bench: ERROR: qemu-system-x86_64 not found (scripts/setup.sh)")
    rom = os.path.realpath(os.path.join(os.path.dirname(os.path.realpath(qemu)), "..", "share",
                                        "qemu", "bios-microvm.bin"))
    a = [os.path.join(E2E, "l1", "build_l1.sh"), "--out", os.path.join(workdir, "l1" + tag),
         "--scenario", script, "--file", f"{initrd}=init.cpio.gz",
         "--bin", f"{args.minivmm_payload}=minivmm", "--bin", f"{stopwatch}=stopwatch",
         # microvm with acpi=off (l2_command) asks for qboot.rom: the same firmware file.
         "--bin", f"{qemu}=qemu-system-x86_64", "--file", f"{rom}=qemu-roms/bios-microvm.bin",
         "--file", f"{rom}=qemu-roms/qboot.rom"]
    for img in args.images:
        a += ["--file", f"{kernel_dir}/{IMAGES[img][0]}={IMAGES[img][0]}"]
    for f in files:
        a += ["--file", f]
    return sh(a, "L1 kernel + initramfs (tests/e2e/l1/build_l1.sh)")


# ------------------------------------------------------------------------------------------------
# Parsing
# ------------------------------------------------------------------------------------------------
class Run:
    def __init__(self, name, img, vmm, kind):
        self.name, self.img, self.vmm, self.kind = name, img, vmm, kind
        self.began, self.rc = False, None
        self.out, self.vmm_out, self.err = [], [], []
        self.sw = {}          # stopwatch fields
        self.timing = None    # minivmm --boot-timing=json
        self.diag = {}        # (event, key) -> count (diag runs)
        self.diag_mode = None
        self.json = None      # minivmm bench --json
        self.kmsg = []        # (guest usec, text) from a kmsg boot

    def ok(self):
        return self.rc == 0 and self.sw.get("exit_code") == 0 and self.sw.get("marker_ms", -1) >= 0

    def tail(self, n=15):
        lines = ([f"OUT| {x}" for x in self.out] + [f"VMM| {x}" for x in self.vmm_out]
                 + [f"ERR| {x}" for x in self.err])
        return "\n".join("    | " + x for x in lines[-n:]) or "    (no output)"


# SVM exit codes (arch/x86/include/uapi/asm/svm.h) as the kvm_exit trace prints them.
SVM_EXITS = {0x60: "interrupt", 0x61: "nmi", 0x64: "vintr", 0x65: "cr0_sel_write",
             0x6e: "rdtsc", 0x72: "cpuid", 0x74: "iret", 0x77: "pause", 0x78: "hlt",
             0x79: "invlpg", 0x7b: "io", 0x7c: "msr", 0x7f: "shutdown", 0x81: "hypercall",
             0x87: "rdtscp", 0x89: "wbinvd", 0x8d: "xsetbv", 0x400: "npf"}
_HIST = re.compile(r"^(kvm_\w+) \{ (.*) \} hitcount: *(\d+)")


def diag_key(event, fields):
    """A readable key for one histogram bucket: exit reason name, `pio write 0x3f8`, ..."""
    if event == "kvm_exit":
        r = int(fields.get("exit_reason", "-1"))
        name = SVM_EXITS.get(r) or (f"read_cr{r}" if r < 0x10 else f"write_cr{r - 0x10}"
                                    if r < 0x20 else f"excp{r - 0x40}" if 0x40 <= r < 0x60
                                    else f"0x{r:x}")
        return name
    if event == "kvm_pio":
        return f"{'write' if fields.get('rw') == '1' else 'read'} 0x{int(fields.get('port', 0)):x}"
    if event == "kvm_msr":
        return f"{'write' if fields.get('write') == '1' else 'read'} 0x{int(fields.get('ecx', 0)):x}"
    return str(fields)


def parse(lines, runs):
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
        if text.startswith("DIAG| "):
            d = text[6:]
            if d.startswith("mode "):
                current.diag_mode = d[5:].strip()
            v = re.match(r"vmstat (.*?)\| (.*)$", d)
            if v:  # L1 /proc/vmstat counters before | after the boot (all of L1)
                b, a = (dict(kv.split("=", 1) for kv in g.split() if "=" in kv) for g in v.groups())
                for k in a:
                    if k in b and a[k].isdigit() and b[k].isdigit():
                        current.diag[("vmstat", k)] = int(a[k]) - int(b[k])
            h = _HIST.match(d)
            if h:  # hist trigger: `kvm_pio { port: 1016, rw: 1 } hitcount: 45`
                fields = dict(kv.strip().split(":", 1) for kv in h.group(2).split(",") if ":" in kv)
                fields = {k.strip(): v.strip() for k, v in fields.items()}
                key = (h.group(1), diag_key(h.group(1), fields))
                current.diag[key] = current.diag.get(key, 0) + int(h.group(3))
            c = re.match(r"count (kvm_exit|kvm_pio|kvm_msr) (.*) (\d+)$", d)
            if c:  # trace buffer: `count kvm_pio pio_write 0x3f8 45`
                key = (c.group(1), c.group(2).replace("pio_", "").replace("msr_", ""))
                if c.group(1) == "kvm_msr":
                    op, _, ecx = key[1].partition(" ")
                    key = (c.group(1), f"{op} 0x{ecx}")
                current.diag[key] = current.diag.get(key, 0) + int(c.group(3))
            continue
        m = _OUT.match(text)
        if not m:
            continue
        stream, line = m.groups()
        {"OUT": current.out, "VMM": current.vmm_out, "ERR": current.err}[stream].append(line)
        sw = _SW.search(line) if stream == "OUT" else None
        if sw:
            for kv in sw.group(0).split():
                k, _, v = kv.partition("=")
                try:
                    current.sw[k] = float(v)
                except ValueError:
                    pass
        j = line.find('{"exec_reference"')
        if j >= 0 and stream == "VMM":
            try:
                current.timing = json.loads(line[j:])
            except ValueError:
                pass
        k = re.match(r"KMSG (\d+) (.*)$", line) if stream == "VMM" else None
        if k:
            current.kmsg.append((int(k.group(1)), k.group(2)))
        if stream == "OUT" and current.kind == "mbench" and line.lstrip().startswith("{"):
            try:
                current.json = json.loads(line.strip())
            except ValueError:
                pass


def progress(t, text, rounds):
    """on_line callback of boot_l1: `boot_bench: round 3/20 minivmm vmlinux: /init 1234 ms`."""
    m = re.search(r"OUT\| .*marker_ms=(\S+) exit_ms=(\S+) exit_code=(\S+)", text)
    if m and progress.name:
        log(f"{progress.name}: /init marker {m.group(1)} ms, exit {m.group(2)} ms, "
            f"exit code {m.group(3)} (L1 t={t:.0f}s)")
    m = re.search(r"E2E-BEGIN (\S+)", text)
    if m:
        r = re.match(r"([rdk])(\d+)-(\w+)-(\w+)$", m.group(1))
        progress.name = None
        if r and r.group(1) == "r":
            progress.name = f"round {r.group(2)}/{rounds} {r.group(4)} {r.group(3)}"
        elif r:
            what = "exit histograms" if r.group(1) == "d" else "guest kernel log"
            progress.name = f"extra boot ({what}) {r.group(4)} {r.group(3)}"
        else:
            log(f"{m.group(1)}: minivmm bench in L1 (L1 t={t:.0f}s)")


progress.name = None


def phases_of(timing):
    """{phase name: since_exec_ms} and the boot-timer 0x41 time from minivmm's JSON."""
    ph = {p.get("name"): p.get("since_exec_ms") for p in timing.get("phases", [])
          if isinstance(p, dict) and p.get("since_exec_ms") is not None}
    for mk in timing.get("markers", []):
        if isinstance(mk, dict) and mk.get("value") == 0x41 and mk.get("since_exec_ms") is not None:
            ph.setdefault("init_port_0x41", mk["since_exec_ms"])
    return ph


def median(xs):
    return statistics.median(xs) if xs else None


def fmt(v, digits=1):
    if v is None:
        return "-"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.{digits}f}"


def spread(xs, digits=1):
    return f"{fmt(min(xs), digits)}-{fmt(max(xs), digits)}" if xs else "-"


def bench_table(js):
    """Markdown lines for `minivmm bench --json`: {"runs", "command", "exec_reference",
    "rows": [{"name", "n", "min", "median", "p90", "max"}], "samples": [...]}."""
    rows = js.get("rows") if isinstance(js, dict) else None
    if not isinstance(rows, list):
        return ["    " + json.dumps(js)[:2000], ""]
    out = [f"{js.get('runs')} runs, exec reference {js.get('exec_reference')}, child: "
           f"`{' '.join(map(str, js.get('command', [])))}`\n",
           "| ms since exec | min | median | p90 | max | runs |", "|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r.get('name')} | " + " | ".join(
            fmt(r.get(k), 2) if isinstance(r.get(k), (int, float)) else "-"
            for k in ("min", "median", "p90", "max")) + f" | {r.get('n')} |")
    return out + [""]


# ------------------------------------------------------------------------------------------------
# Chart: phases.dat + gnuplot bench/boot/phases.gp
# ------------------------------------------------------------------------------------------------
def write_chart(path, img_label, totals, phase_meds, title):
    """totals: {vmm: (marker median, exit median)}; phase_meds: [(phase, since-exec median)]."""
    dat = os.path.splitext(path)[0] + ".dat"
    rows0, rows1 = [], []
    # Block 0: y, label, start, end, category (1 VMM setup, 2 guest, 3 QEMU total, 4 teardown), text
    q_init, q_exit = totals["qemu"]
    m_init, m_exit = totals["minivmm"]
    first = dict(phase_meds).get("first_kvm_run")
    rows0.append((2, "QEMU microvm", 0, q_init, 3, ""))
    rows0.append((2, "QEMU microvm", q_init, max(q_exit, q_init), 4,
                  f"/init {q_init:.0f} ms, exit {q_exit:.0f} ms"))
    if first is not None:
        rows0.append((1, "minivmm", 0, first, 1, ""))
        rows0.append((1, "minivmm", first, max(m_init, first), 2, ""))
    else:
        rows0.append((1, "minivmm", 0, m_init, 2, ""))
    ratio = f" ({m_init / q_init:.2f}x QEMU)" if q_init else ""
    rows0.append((1, "minivmm", m_init, max(m_exit, m_init), 4,
                  f"/init {m_init:.0f} ms{ratio}, exit {m_exit:.0f} ms"))
    # Block 1: minivmm's own phases as a waterfall (one row per phase, top to bottom).
    prev, n = 0.0, len(phase_meds)
    for i, (name, t) in enumerate(phase_meds):
        t = max(t, prev)
        rows1.append((n - i, name, prev, t, i + 1, f"+{t - prev:.2f} ms (at {t:.2f})"))
        prev = t
    with open(dat, "w") as f:
        f.write(f"# boot_bench.py chart data ({img_label}); medians in ms since exec\n"
                "# block 0: y label start end category text | block 1: y phase start end "
                "colour text\n")
        for block in (rows0, rows1):
            for r in block:
                f.write("\t".join(str(x) if not isinstance(x, float) else f"{x:.3f}" for x in r)
                        + "\n")
            f.write("\n\n")
    gp = os.path.join(HERE, "phases.gp")
    cmd = ["gnuplot", "-e", f"datafile='{dat}'; outfile='{path}'; plottitle='{title}'", gp]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        log(f"WARNING: gnuplot failed (rc={p.returncode}): {p.stdout.strip()[-400:]}")
        return None
    return dat


# Guest kernel log landmarks (prefixes), in boot order, compared between the VMMs.
LANDMARKS = ("tsc: Detected", "RAMDISK:", "Memory:", "APIC: Switch to symmetric", "..TIMER:",
             "clocksource: tsc-early", "Mountpoint-cache", "APIC timer disabled",
             "smpboot: CPU0", "Performance Events", "devtmpfs: initialized",
             "clocksource: Switched to clocksource", "Unpacking initramfs", "Freeing initrd",
             "Serial: 8250", "serio: i8042 KBD", "IPI shorthand", "Freeing unused kernel image "
             "(initmem)", "Run /init")


DEC = ("exec -> /init marker (stopwatch, wall clock)",
       "exec -> first KVM_RUN (VMM setup), + `Run /init` -> marker (the remainder)",
       "first KVM_RUN -> guest clock starts (kvm-clock sched offset): firmware (QEMU: qboot), "
       "early kernel",
       "guest clock at `Run /init` (the guest kernel's boot)")


def kmsg_report(img, kruns, top=8):
    """Markdown lines: the guest kernel's own timeline (printk timestamps, ms on the guest clock)
    in the kmsg boots: guest time at landmark messages per VMM (medians over the kmsg boots), and
    the longest gaps between consecutive messages before `Run /init` (medians, by message pair)."""
    kruns = [r for r in kruns if r.kmsg]
    if not kruns:
        return []
    n = {v: sum(r.vmm == v for r in kruns) for v in VMMS}
    out = [f"Guest kernel timeline ({IMAGES[img][2]}; the kernel log, printed by /init after the "
           f"marker in {n['minivmm']}/{n['qemu']} extra boots with `bootbench_dmesg=1`; ms on the "
           f"guest's printk clock, which starts with the kernel; medians):\n"]
    at = {v: {} for v in VMMS}
    gaps = {v: {} for v in VMMS}
    for r in kruns:
        init_t = next((t for t, x in r.kmsg if x.startswith("Run /init")), r.kmsg[-1][0])
        for lm in LANDMARKS:
            t = next((t for t, x in r.kmsg if x.startswith(lm)), None)
            if t is not None:
                at[r.vmm].setdefault(lm, []).append(t / 1000)
        # Decomposition of exec -> marker. kvm-clock's "sched offset" (ns, printed as "cycles")
        # is the guest clock at its start, counted from KVM_CREATE_VM (minivmm never sets the
        # clock); QEMU reads the clock when its kvmclock device is realized (machine init) and
        # sets that value back with KVM_SET_CLOCK when the VM starts, so its clock is frozen in
        # between. Subtracting minivmm's vm_created -> first_kvm_run makes both roughly "first
        # KVM_RUN -> guest clock starts"; the remainder is exec -> first KVM_RUN plus
        # `Run /init` -> marker on the console.
        wall = r.sw.get("marker_ms", -1)
        off = next((int(m.group(1)) / 1e6 for _, x in r.kmsg
                    for m in [re.search(r"kvm-clock: using sched offset of (\d+)", x)] if m), None)
        dec = at[r.vmm]
        dec.setdefault(DEC[0], []).append(wall)
        if off is not None and wall >= 0:
            if r.vmm == "minivmm":
                ph = phases_of(r.timing) if r.timing else {}
                if "vm_created" not in ph or "first_kvm_run" not in ph:
                    off = None
                else:
                    off -= ph["first_kvm_run"] - ph["vm_created"]
        if off is not None and wall >= 0:
            dec.setdefault(DEC[1], []).append(wall - off - init_t / 1000)
            dec.setdefault(DEC[2], []).append(off)
        dec.setdefault(DEC[3], []).append(init_t / 1000)
        for (ta, xa), (tb, xb) in zip(r.kmsg, r.kmsg[1:]):
            if tb <= init_t:
                key = (re.sub(r"\d+", "#", xa)[:48], re.sub(r"\d+", "#", xb)[:48])
                gaps[r.vmm].setdefault(key, []).append((tb - ta) / 1000)
    out.append("| exec -> /init marker, split (ms, medians) | minivmm | QEMU microvm |")
    out.append("|---|---|---|")
    for d in DEC:
        out.append(f"| {d} | " + " | ".join(fmt(median(at[v].get(d, [])), 0) for v in VMMS) + " |")
    out.append("")
    out.append("| guest log landmark (guest clock, ms) | minivmm | QEMU microvm |")
    out.append("|---|---|---|")
    for lm in LANDMARKS:
        if lm in at["minivmm"] or lm in at["qemu"]:
            out.append(f"| `{lm}` | " + " | ".join(fmt(median(at[v].get(lm, [])), 0)
                                                    for v in VMMS) + " |")
    out.append("")
    out.append("| longest gaps before `Run /init` (ms, median) | minivmm | QEMU microvm |")
    out.append("|---|---|---|")
    keys = set()
    for v in VMMS:
        keys |= set(sorted(gaps[v], key=lambda k: -median(gaps[v][k]))[:top])
    keys = sorted(keys, key=lambda k: -max(median(gaps[v].get(k, [0])) for v in VMMS))[:top + 4]
    for k in keys:
        label = f"`{k[0]}` -> `{k[1]}`".replace("|", "/")
        out.append(f"| {label} | " + " | ".join(fmt(median(gaps[v].get(k, [])), 0)
                                                for v in VMMS) + " |")
    out.append("")
    return out


# ------------------------------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__[__doc__.index("Usage:"):])
    ap.add_argument("--rounds", type=int, default=20, help="rounds (each: one minivmm and one "
                    "QEMU boot per image, order alternating); default 20")
    ap.add_argument("--image", choices=("vmlinux", "bzimage", "both"), default="vmlinux")
    ap.add_argument("--minivmm", default=os.path.join(REPO, "build", "minivmm"))
    ap.add_argument("--memory", type=int, default=128, help="guest MiB (default 128)")
    ap.add_argument("--cmdline", default=f"{BASE_CMDLINE} quiet")
    ap.add_argument("--diag-runs", type=int, default=1, help="extra boots per VMM and image after "
                    "the rounds with KVM exit histograms (not timed; 0: skip); default 1")
    ap.add_argument("--kmsg-runs", type=int, default=3, help="extra boots per VMM and image that "
                    "print the guest kernel log after the marker (timeline of the guest; not "
                    "timed; 0: skip); default 3")
    ap.add_argument("--bench-runs", type=int, default=10, help="boots of `minivmm bench` run once "
                    "in L1 per image after the rounds (0: skip); default 10")
    ap.add_argument("--run-timeout", type=float, default=60, help="stopwatch --timeout per boot, "
                    "s (default 60)")
    ap.add_argument("--out", metavar="FILE", help="also write the report (Markdown) here")
    ap.add_argument("--chart", default=os.path.join(HERE, "phases.png"),
                    help="phase chart PNG (default bench/boot/phases.png; '' to skip)")
    ap.add_argument("--keep-log", metavar="PATH", help="write L1's serial log here")
    ap.add_argument("--kernel-dir", help="guest kernel dir with vmlinux and bzImage (default: "
                    "guest-kernel-config/build.sh, cached)")
    ap.add_argument("--timeout", type=float, help="budget of each L1 boot, s (default: from the "
                    "run count)")
    args = ap.parse_args()
    if args.rounds < 1 or min(args.bench_runs, args.diag_runs, args.kmsg_runs) < 0:
        ap.error("--rounds must be positive, --bench-runs, --diag-runs, --kmsg-runs >= 0")
    args.images = ["vmlinux", "bzimage"] if args.image == "both" else [args.image]
    command = " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0], REPO)] + sys.argv[1:])

    t_start = time.monotonic()
    load_before = os.getloadavg()
    workdir = tempfile.mkdtemp(prefix="minivmm-bootbench.")
    plan = run_plan(args)
    runs = {p[0]: Run(*p) for p in plan}
    cmds, mbench = commands(args)
    try:
        kernel_dir = args.kernel_dir or sh([os.path.join(REPO, "guest-kernel-config", "build.sh")],
                                           "guest kernel (guest-kernel-config/build.sh)")
        initrd, init_bytes, initrd_bytes = build_initramfs(workdir)
        stopwatch = build_stopwatch(workdir)
        minivmm = os.path.abspath(args.minivmm)
        if not os.access(minivmm, os.X_OK):
            raise SystemExit(f"boot_bench: ERROR: minivmm binary {minivmm} not found or not "
                             "executable (build it or pass --minivmm PATH)")
        # Stripped like Debian's QEMU binary (a RelWithDebInfo minivmm is ~45 MB of debug info
        # that would only make L1's initramfs bigger).
        args.minivmm_payload = os.path.join(workdir, "minivmm")
        sh(["strip", "-o", args.minivmm_payload, minivmm], "minivmm (stripped copy for L1)")
    except SystemExit as e:
        print(e, flush=True)
        log(f"kept {workdir}")
        return 1

    # One L1 boot for everything; if L1 wedges, one fresh L1 for the unfinished runs.
    log_path = args.keep_log or os.path.join(workdir, "l1-serial.log")
    l1_notes, results, pending = [], [], plan
    for attempt in range(2):
        tag = "" if attempt == 0 else ".retry"
        try:
            script, files, limits = write_l1_script(workdir, args, pending, cmds, mbench, tag)
            l1_dir = build_l1(args, workdir, kernel_dir, initrd, stopwatch, script, files, tag)
        except SystemExit as e:
            print(e, flush=True)
            log(f"kept {workdir}")
            return 1
        budget = args.timeout or 180 + sum(limits.values())
        kinds = {k: sum(p[3] == k for p in pending) for k in ("timed", "diag", "kmsg", "mbench")}
        log(f"L1 boot {attempt + 1}: {kinds['timed']} timed boots ({'/'.join(args.images)}, "
            f"minivmm and QEMU alternating), {kinds['diag']} exit-histogram boots, "
            f"{kinds['kmsg']} kernel-log boots, {kinds['mbench']} x minivmm bench")
        res = run_l1.boot_l1(os.path.join(l1_dir, "vmlinuz"), os.path.join(l1_dir, "l1.cpio.gz"),
                             log_path + tag, budget, scenario_limits=limits,
                             on_line=lambda t, text: progress(t, text, args.rounds))
        shutil.rmtree(l1_dir, ignore_errors=True)
        results.append(res)
        parse(res.lines, runs)
        l1_notes.append(f"L1 boot {attempt + 1}: {res.elapsed:.0f} s, ready after "
                        f"{res.ready_after or -1:.1f} s, "
                        + (f"wedged in {res.stuck_scenario}" if res.stuck_scenario else
                           "timed out" if res.timed_out else f"QEMU rc={res.returncode}"))
        if not res.stuck_scenario:
            break
        # Restart at the first unfinished run, from the start of its round, so that both boots
        # of a round always come from the same L1.
        first = next(i for i, p in enumerate(pending) if runs[p[0]].rc is None)
        rnd = pending[first][0].split("-")[0]
        while first > 0 and pending[first - 1][0].split("-")[0] == rnd:
            first -= 1
        pending = pending[first:]
        log(f"WARNING: L1 wedged in {res.stuck_scenario}; a fresh L1 runs the "
            f"{len(pending)} remaining run(s), from the start of that round")
        for p in pending:
            runs[p[0]] = Run(*p)
    res = results[-1]
    l1_info = sorted({t[t.index("BENCH-L1 ") + 9:] for r in results for _, t in r.lines
                      if "BENCH-L1 " in t})
    l1_dmesg = {}  # L1 kernel message (timestamp and pid dropped) -> count
    for _, t in res.lines:
        if "L1-DMESG " in t:
            msg = re.sub(r"^\[[ 0-9.]*\] *|(?<=kvm )\[\d+\]", "", t[t.index("L1-DMESG ") + 9:])
            l1_dmesg[msg] = l1_dmesg.get(msg, 0) + 1

    # ---- errors -------------------------------------------------------------------------------
    errors = [f"L1: {r.l1_error}" for r in results if r.l1_error]
    for name, img, vmm, kind in plan:
        run = runs[name]
        if not run.began:
            errors.append(f"{name}: never started ({l1_notes[-1]})")
        elif run.rc is None:
            errors.append(f"{name}: did not finish (L1 timed out or wedged):\n{run.tail()}")
        elif kind == "mbench":
            if run.rc != 0:
                errors.append(f"{name}: `minivmm bench` rc={run.rc}:\n{run.tail()}")
        elif not run.sw:
            errors.append(f"{name}: no stopwatch line (rc={run.rc}):\n{run.tail()}")
        elif not run.ok():
            seen = "seen" if run.sw.get("marker_ms", -1) >= 0 else "MISSING"
            errors.append(f"{name}: {vmm} exit code {run.sw.get('exit_code'):.0f} (run rc "
                          f"{run.rc}), {MARKER} {seen}:\n{run.tail()}")
        elif vmm == "minivmm" and run.timing is None:
            errors.append(f"{name}: no --boot-timing=json line on minivmm's stdout:\n{run.tail()}")

    # ---- report -------------------------------------------------------------------------------
    timed = [p for p in plan if p[3] == "timed"]
    out = ["## Boot to guest /init: minivmm vs QEMU microvm (nested harness, "
           + ("one L1 run)\n" if len(results) == 1 else f"{len(results)} L1 runs: L1 wedged, see "
              f"the end)\n")]
    out.append(f"Guest: the project's kernel ({', '.join(IMAGES[i][2] for i in args.images)}), "
               f"initramfs = /dev/console + /init (bench/boot/guest/init_mark.c, static, "
               f"{init_bytes // 1024} KiB; cpio.gz {initrd_bytes // 1024} KiB), 1 vCPU, "
               f"{args.memory} MiB, cmdline `{args.cmdline}`. {args.rounds} rounds, VMM order "
               f"alternating per round (M Q, Q M, ...). Times from bench/common/stopwatch in L1: "
               f"CLOCK_MONOTONIC before fork -> `{MARKER}` read from the VMM's stdout (the guest "
               f"console) / -> VMM exit (after the guest's reboot through the i8042). CPU = "
               f"utime+stime of the VMM (includes the vCPU's time in the guest). Ran in: L1 = "
               f"Debian kernel in QEMU TCG `-cpu EPYC,+svm -smp 2 -m 2048` "
               f"({'; '.join(l1_info)}) on a {os.cpu_count()}-CPU host (PVM VM); absolute "
               f"times are inflated by the nested emulation, compare the ratio.\n")
    metrics = [("marker_ms", "exec -> /init marker on console", "ms", 1),
               ("exit_ms", "exec -> VMM exit", "ms", 1),
               ("first_output_ms", "exec -> first console output", "ms", 1),
               ("cpu_ms", "VMM CPU (user+sys, incl. guest)", "ms", 1),
               ("maxrss_kib", "VMM peak RSS", "MiB", 1)]
    totals = {}
    for img in args.images:
        vals = {vmm: {k: [] for k, *_ in metrics} for vmm in VMMS}
        for name, i, vmm, _ in timed:
            run = runs[name]
            if i != img or not run.ok():
                continue
            for k, *_ in metrics:
                v = run.sw.get(k, -1)
                if v is not None and v >= 0:
                    vals[vmm][k].append(v / 1024 if k == "maxrss_kib" else v)
        out.append(f"### {IMAGES[img][2]}\n")
        out.append("| metric | unit | minivmm median | QEMU median | ratio minivmm/QEMU | "
                   "minivmm min-max | QEMU min-max | runs (minivmm/QEMU) |")
        out.append("|---|---|---|---|---|---|---|---|")
        for k, desc, unit, dg in metrics:
            a, b = vals["minivmm"][k], vals["qemu"][k]
            ma, mb = median(a), median(b)
            ratio = f"{ma / mb:.2f}x" if ma is not None and mb else "-"
            out.append(f"| {desc} | {unit} | {fmt(ma, dg)} | {fmt(mb, dg)} | {ratio} | "
                       f"{spread(a, dg)} | {spread(b, dg)} | {len(a)}/{len(b)} |")
        ma, mb = median(vals["minivmm"]["marker_ms"]), median(vals["qemu"]["marker_ms"])
        totals[img] = {v: (median(vals[v]["marker_ms"]) or 0, median(vals[v]["exit_ms"]) or 0)
                       for v in VMMS}
        if ma is not None and mb:
            verdict = "met" if ma / mb <= TARGET and not errors else "NOT met"
            out.append(f"\nTarget (TARGETS.md) boot to guest /init <= {TARGET}x QEMU microvm, "
                       f"{IMAGES[img][2]}: **{verdict}**: minivmm {ma:.1f} ms / QEMU {mb:.1f} ms = "
                       f"{ma / mb:.2f}x (medians of {len(vals['minivmm']['marker_ms'])}/"
                       f"{len(vals['qemu']['marker_ms'])} boots)"
                       + (" (errors below)" if errors else "") + ".\n")
        else:
            out.append(f"\nTarget ({IMAGES[img][2]}): no result (errors below).\n")

        # minivmm's own phases (--boot-timing=json)
        per = {}
        for name, i, vmm, _ in timed:
            run = runs[name]
            if i == img and vmm == "minivmm" and run.timing and run.ok():
                for ph, t in phases_of(run.timing).items():
                    per.setdefault(ph, []).append(t)
                per.setdefault("console marker (stopwatch)", []).append(run.sw["marker_ms"])
                if run.sw.get("exit_ms", -1) >= 0:
                    per.setdefault("exit (stopwatch)", []).append(run.sw["exit_ms"])
        late = ("init_port_0x41", "console marker (stopwatch)", "exit (stopwatch)")
        order = sorted((p for p in per if p not in late), key=lambda p: median(per[p]))
        if per:
            refs = sorted({str(runs[n].timing.get("exec_reference")) for n, i, v, _ in timed
                           if i == img and v == "minivmm" and runs[n].timing})
            out.append(f"minivmm phases ({IMAGES[img][2]}; `--boot-timing=json`, exec reference "
                       f"{'/'.join(refs)}; ms since exec, median over boots):\n")
            out.append("| phase | median since exec | min-max | delta from previous (medians) | "
                       "runs |")
            out.append("|---|---|---|---|---|")
            prev = 0.0
            for p in order + [p for p in late if p in per]:
                m = median(per[p])
                out.append(f"| {p} | {m:.2f} | {spread(per[p], 2)} | {m - prev:+.2f} | "
                           f"{len(per[p])} |")
                prev = m
            out.append("")
        if img == args.images[0] and args.chart and per and all(totals[img][v][0] for v in VMMS):
            title = (f"Boot to guest /init, {IMAGES[img][2]} + init_mark initramfs, nested harness "
                     f"(L2 in L1 = QEMU TCG), medians of {len(vals['minivmm']['marker_ms'])}/"
                     f"{len(vals['qemu']['marker_ms'])} boots")
            dat = write_chart(args.chart, IMAGES[img][2], totals[img],
                              [(p, median(per[p])) for p in order], title)
            if dat:
                out.append(f"Chart: `{os.path.relpath(args.chart, REPO)}` (gnuplot "
                           f"bench/boot/phases.gp, data `{os.path.relpath(dat, REPO)}`).\n")

        # exit histograms of the diag boots
        diag = [runs[n] for n, i, v, k in plan if k == "diag" and i == img and runs[n].diag]
        if diag:
            modes = sorted({r.diag_mode for r in diag})
            out.append(f"KVM exits in L1 per boot ({IMAGES[img][2]}; {args.diag_runs} extra boot(s) "
                       f"per VMM with kvm_exit/kvm_pio/kvm_msr tracepoint histograms "
                       f"({'/'.join(modes)}), not timed; their exec -> /init: "
                       + ", ".join(f"{NAMES[r.vmm]} {r.sw.get('marker_ms', -1):.0f} ms"
                                   for r in diag) + "):\n")
            for event, what, top in (("kvm_exit", "exit reason", 12), ("kvm_pio", "I/O port", 12),
                                     ("kvm_msr", "MSR", 8), ("vmstat", "L1 /proc/vmstat delta "
                                                             "(all of L1)", 8)):
                tot = {v: {} for v in VMMS}
                for r in diag:
                    for (e, key), c in r.diag.items():
                        if e == event:
                            tot[r.vmm][key] = tot[r.vmm].get(key, 0) + c / args.diag_runs
                keys = sorted(set(tot["minivmm"]) | set(tot["qemu"]),
                              key=lambda k: -(tot["minivmm"].get(k, 0) + tot["qemu"].get(k, 0)))
                if not keys:
                    continue
                out.append(f"| {event}: {what} | minivmm | QEMU microvm |")
                out.append("|---|---|---|")
                if event != "vmstat":
                    out.append(f"| **all** | {fmt(sum(tot['minivmm'].values()), 0)} | "
                               f"{fmt(sum(tot['qemu'].values()), 0)} |")
                for k in keys[:top]:
                    out.append(f"| {k} | {fmt(tot['minivmm'].get(k), 0)} | "
                               f"{fmt(tot['qemu'].get(k), 0)} |")
                if len(keys) > top:
                    rest = {v: sum(tot[v].get(k, 0) for k in keys[top:]) for v in VMMS}
                    out.append(f"| ({len(keys) - top} more) | {fmt(rest['minivmm'], 0)} | "
                               f"{fmt(rest['qemu'], 0)} |")
                out.append("")

    for img in args.images:
        out += kmsg_report(img, [runs[n] for n, i, v, k in plan if k == "kmsg" and i == img])
    for name, img, vmm, kind in plan:
        if kind != "mbench":
            continue
        run = runs[name]
        out.append(f"`minivmm bench` inside L1 ({IMAGES[img][2]}, --runs {args.bench_runs}; "
                   f"same L1, after the rounds):\n")
        if run.json is not None:
            out += bench_table(run.json)
        else:
            out += ["    " + x for x in (run.out or ["(no output)"])] + [""]

    out.append("Commands inside L1 (per boot; stopwatch's line and the VMM's output went to L1's "
               "tmpfs, printed after the exit):\n")
    for (img, vmm, kind), c in cmds.items():
        if kind == "timed":
            out.append(f"    {c}")
    for img in args.images:
        if args.bench_runs:
            out.append(f"    {mbench[img]}")
    if l1_dmesg:
        out.append("\nL1 kernel messages about kvm during the run (dmesg, printed at the end):\n")
        out += [f"    {x}" + (f"  (x{c})" if c > 1 else "") for x, c in l1_dmesg.items()]
    out.append(f"\n{'; '.join(l1_notes)}. Host load average (1/5/15 min) before: "
               f"{' '.join(f'{x:.1f}' for x in load_before)}, after: "
               f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} (on {os.cpu_count()} CPUs; "
               f"other work on the host slows L1's TCG and spreads the timings).")
    out.append(f"\nCommand: `{command}` (total {time.monotonic() - t_start:.0f} s)")
    if errors:
        out.append("\nERRORS:\n")
        out += [f"- {e}" for e in errors]
    report = "\n".join(out) + "\n"
    print(report, flush=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report)
    bad = bool(errors) or res.timed_out or res.returncode not in (0, None)
    if bad:
        log(f"FAILED; kept {workdir} (serial log {log_path})")
        return 1
    if not args.keep_log:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
