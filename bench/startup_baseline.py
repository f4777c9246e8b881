#!/usr/bin/env python3
"""Startup baseline on the host's /dev/kvm: exec of `minivmm run` to the tiny guest's first
boot-timer write, measured from outside the process (time before spawn to the moment minivmm's
"boot-timer:" log line is read from its stderr; pipe latency is included), plus the VMM's memory
once the guest spins: resident set excluding the guest-RAM memfd mapping, and private bytes.

Usage: bench/startup_baseline.py [--minivmm build/minivmm] [--tiny build/bench/minivmm-tiny-guest]
                                 [--runs 20]
Prints a Markdown table. Not a test; numbers vary with the machine.
"""
import argparse
import os
import signal
import statistics
import subprocess
import tempfile
import time


def smaps_split(pid):
    """(rss_total_kib, rss_guest_ram_kib, private_total_kib) from /proc/PID/smaps."""
    total = guest = private = 0
    in_guest = False
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 5 and "-" in parts[0] and ":" not in parts[0]:
                in_guest = "minivmm-guest-ram" in line
            elif parts[0] == "Rss:":
                total += int(parts[1])
                if in_guest:
                    guest += int(parts[1])
            elif parts[0] in ("Private_Clean:", "Private_Dirty:") and not in_guest:
                private += int(parts[1])
    return total, guest, private


def one_run(minivmm, kernel, spin):
    args = [minivmm, "run", "--kernel", kernel, "--memory", "128", "--console", "none",
            "--cmdline", ""]
    t0 = time.perf_counter()
    p = subprocess.Popen(args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    mark = None
    for line in p.stderr:
        if "boot-timer:" in line:
            mark = time.perf_counter() - t0
            break
    mem = None
    if spin:
        time.sleep(0.2)
        mem = smaps_split(p.pid)
        p.send_signal(signal.SIGTERM)
    p.communicate(timeout=30)
    return mark, mem


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minivmm", default="build/minivmm")
    ap.add_argument("--tiny", default="build/bench/minivmm-tiny-guest")
    ap.add_argument("--runs", type=int, default=20)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        reset_elf, spin_elf = os.path.join(d, "reset.elf"), os.path.join(d, "spin.elf")
        subprocess.run([a.tiny, reset_elf], check=True)
        subprocess.run([a.tiny, spin_elf, "--then", "spin"], check=True)
        marks = []
        for _ in range(a.runs):
            m, _ = one_run(a.minivmm, reset_elf, False)
            if m is not None:
                marks.append(m * 1000)
        _, (rss, guest, private) = one_run(a.minivmm, spin_elf, True)
    marks.sort()
    print(f"| metric | value | runs |\n|---|---|---|")
    print(f"| exec -> first boot-timer write, median | {statistics.median(marks):.2f} ms | "
          f"{len(marks)} |")
    print(f"| same, min / max | {marks[0]:.2f} / {marks[-1]:.2f} ms | {len(marks)} |")
    print(f"| VMM RSS excluding guest RAM | {(rss - guest) / 1024:.2f} MiB | 1 |")
    print(f"| VMM private (clean+dirty) excluding guest RAM | {private / 1024:.2f} MiB | 1 |")
    print(f"| guest RAM resident | {guest} KiB | 1 |")
    print(f"\ncommand: bench/startup_baseline.py --runs {a.runs}")


if __name__ == "__main__":
    main()
