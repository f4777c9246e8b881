"""Boot-timing scenarios of the minivmm e2e tests (minivmm-only: QEMU has no boot-timer port).

`boot-timing` boots the e2e guest with `--boot-timing=json --exit-on-marker 0x41`: the guest's
init writes 0x41 (guest/init, after its MINIVMM-E2E lines), minivmm stops right there and exits
0, and the JSON report must list every start phase in order with non-decreasing times, the
marker, and the exit reason; the guest's log must show the TSC-deadline timer minivmm advertises. `bench` runs `minivmm bench` (3 runs, JSON, then 2 runs as a table)
and checks the summary: every phase and the marker summarized over all runs, children timed
against the spawn time (exec reference "spawner"); a bench of a missing kernel must fail with
exit code 4 and one error line naming the run.
"""
import json

from harness import (BASE_CMDLINE, GUEST_INITRD, VMLINUX, Fail, expect_marker, expect_rc,
                     l1_mark_helpers, l2_command)

PHASES = ["config_parsed", "kvm_opened", "memory_ready", "vm_created", "devices_created",
          "kernel_loaded", "vcpus_created", "start_called", "first_kvm_run"]
JSON_PREFIX = '{"exec_reference"'


def json_lines(run, prefix=JSON_PREFIX):
    found = []
    for line in run.lines:
        i = line.find(prefix)
        if i >= 0:
            try:
                found.append(json.loads(line[i:]))
            except ValueError as e:
                raise Fail(f"malformed JSON line ({e}): {line!r}")
    return found


def timing_shell(vmm):
    cmd = l2_command(vmm, VMLINUX, 256, cmdline=f"{BASE_CMDLINE} e2e.tag=timing",
                     extra_minivmm=["--boot-timing=json", "--exit-on-marker", "0x41"])
    return cmd


def check_timing(run):
    expect_marker(run, "init-started")
    expect_rc(run, 0, "minivmm (stopped at the 0x41 marker)")
    if "init-done" in run.markers:
        raise Fail(f"the guest finished init: minivmm did not stop at the marker\n{run.tail()}")
    reports = json_lines(run)
    if len(reports) != 1:
        raise Fail(f"expected one boot-timing JSON line, found {len(reports)}:\n{run.tail()}")
    r = reports[0]
    names = [p["name"] for p in r["phases"]]
    if names != PHASES:
        raise Fail(f"phases {names}, expected {PHASES}")
    times = [p["since_exec_ms"] for p in r["phases"]] + [m["since_exec_ms"] for m in r["markers"]]
    if any(b < a for a, b in zip(times, times[1:])):
        raise Fail(f"since_exec_ms decreases: {times}")
    if r["phases"][0]["since_create_ms"] is not None:
        raise Fail("config_parsed happens before create: since_create_ms must be null")
    if [m["value"] for m in r["markers"]] != [0x41]:
        raise Fail(f"markers {r['markers']}, expected one write of 0x41")
    if r["exit"] != "marker 0x41":
        raise Fail(f"exit {r['exit']!r}, expected 'marker 0x41'")
    if r["exec_reference"] != "proc_stat":
        raise Fail(f"exec_reference {r['exec_reference']!r}: no spawner set MINIVMM_SPAWN_TIME_NS")
    if not r["cpu_ms"] > 0 or not r["peak_rss_kib"] > 0:
        raise Fail(f"cpu_ms={r['cpu_ms']} peak_rss_kib={r['peak_rss_kib']}")
    # KVM emulates the TSC-deadline timer (KVM_CAP_TSC_DEADLINE_TIMER) and minivmm advertises it,
    # which spares the guest its LAPIC-timer calibration against the PIT.
    if not any("TSC deadline timer available" in line for line in run.lines):
        raise Fail(f"the guest did not find the TSC-deadline timer in CPUID:\n{run.tail(40)}")


def bench_shell(vmm):
    common = (f"--kernel {VMLINUX} --initrd {GUEST_INITRD} --memory 256 "
              f"--cmdline '{BASE_CMDLINE} quiet e2e.tag=bench'")
    return l1_mark_helpers() + f"""
/payload/minivmm bench --kernel /nonexistent/vmlinux --runs 2 </dev/null 2>&1
mark missing-kernel-rc "$?"
/payload/minivmm bench {common} --runs 3 --json </dev/null 2>&1 || exit $?
/payload/minivmm bench {common} --runs 2 </dev/null 2>&1
"""


def check_bench(run):
    if expect_marker(run, "missing-kernel-rc") != "4":
        raise Fail(f"bench of a missing kernel: rc {run.markers['missing-kernel-rc']}, expected 4")
    errors = [line for line in run.lines if "run 1/2:" in line and "nonexistent" in line]
    if not errors:
        raise Fail(f"no error line naming run 1/2 and the kernel path:\n{run.tail(30)}")
    expect_rc(run, 0, "minivmm bench")
    reports = json_lines(run, '{"runs"')
    if len(reports) != 1:
        raise Fail(f"expected one bench JSON line, found {len(reports)}:\n{run.tail(30)}")
    r = reports[0]
    if r["runs"] != 3 or len(r["samples"]) != 3:
        raise Fail(f"runs={r['runs']} samples={len(r['samples'])}, expected 3")
    if r["exec_reference"] != "spawner":
        raise Fail(f"exec_reference {r['exec_reference']!r}, expected 'spawner'")
    rows = {row["name"]: row for row in r["rows"]}
    for name in PHASES + ["marker 0x41", "wall (spawn to exit)", "cpu time", "peak RSS"]:
        if name not in rows or rows[name]["n"] != 3:
            raise Fail(f"row {name!r} missing or not over 3 runs: {rows.get(name)}")
        row = rows[name]
        if not row["min"] <= row["median"] <= row["p90"] <= row["max"]:
            raise Fail(f"row {name!r} is not ordered: {row}")
    if not rows["first_kvm_run"]["median"] < rows["marker 0x41"]["median"] \
            <= rows["wall (spawn to exit)"]["median"]:
        raise Fail(f"first_kvm_run < marker <= wall does not hold: {r['rows']}")
    progress = [line for line in run.lines if "minivmm bench: run 3/3" in line]
    table = [line for line in run.lines if line.startswith("minivmm bench: 2 runs of:")]
    if not progress or not table:
        raise Fail(f"missing progress line or table header:\n{run.tail(30)}")


TIMING_SCENARIOS = [
    ("boot-timing", timing_shell, check_timing, 120, ("minivmm",)),
    ("bench", bench_shell, check_bench, 300, ("minivmm",)),
]
