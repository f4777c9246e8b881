"""C++ API scenarios of the minivmm e2e tests (minivmm only): tests/e2e/api_driver builds
`minivmm-api-driver`, which embeds minivmm through include/minivmm/machine.hpp and drives one
scenario per subcommand inside L1: pause/resume, graceful stop (Ctrl-Alt-Del), two machines in one
process, disk backing-file swap and the read-only flag, console input. The driver prints facts as
`API-E2E key=value` lines and relays each guest's console as `[tag] line`; the checks here judge
them (the guest's own `MINIVMM-E2E` markers are read per tag). Disk images are made in L1 with dd.
"""
import json
import os
import re

from harness import GUEST_INITRD, VMLINUX, Fail, l1_mark_helpers

DRIVER = "/payload/minivmm-api-driver"
DRIVER_REL = "tests/e2e/api_driver/minivmm-api-driver"
COMMON = f"--kernel {VMLINUX} --initrd {GUEST_INITRD}"

_API = re.compile(r"API-E2E ([A-Za-z0-9_.-]+)=(.*)$")
_TAGGED = re.compile(r"\[([A-Za-z0-9_-]+)\] MINIVMM-E2E ([A-Za-z0-9_.:-]+)(?:=(.*))?$")


def payload(build_dir, workdir):
    path = os.path.join(os.path.abspath(build_dir), DRIVER_REL)
    if not os.access(path, os.X_OK):
        raise SystemExit(f"e2e: ERROR: {path} missing: build it (ninja -C {build_dir} "
                         "minivmm-api-driver) or pass --build-dir")
    return ["--bin", f"{path}=minivmm-api-driver"]


# ---------------------------------------------------------------------------------------------
# Parsing the driver's output
# ---------------------------------------------------------------------------------------------
class ApiRun:
    """The driver's `API-E2E` facts (first value per key) and the guests' markers per tag."""

    def __init__(self, run):
        self.run, self.facts, self.guest = run, {}, {}
        for line in run.lines:
            m = _API.search(line)
            if m:
                self.facts.setdefault(m.group(1), m.group(2))
            m = _TAGGED.search(line)
            if m:
                self.guest.setdefault(m.group(1), {}).setdefault(m.group(2), m.group(3) or "")

    def quote(self, n=25):
        shown = [line for line in self.run.lines if "API-E2E" in line][-n:]
        return "\n".join("    | " + line for line in shown) or "    (no API-E2E lines)"

    def fact(self, key):
        if key not in self.facts:
            raise Fail(f"driver never reported {key} (rc={self.run.rc}); last lines:\n"
                       f"{self.run.tail(25)}")
        return self.facts[key]

    def expect(self, key, want, what=""):
        got = self.fact(key)
        if got != want:
            raise Fail(f"{what or key}: {key}={got!r}, expected {want!r}:\n{self.quote()}")

    def number(self, key):
        got = self.fact(key)
        try:
            return float(got)
        except ValueError:
            raise Fail(f"{key}={got!r} is not a number:\n{self.quote()}")

    def json(self, key):
        try:
            return json.loads(self.fact(key))
        except ValueError as e:
            raise Fail(f"{key} is not valid JSON ({e}): {self.fact(key)[:300]!r}")

    def marker(self, tag, key):
        got = self.guest.get(tag, {}).get(key)
        if got is None:
            raise Fail(f"guest {tag} never printed MINIVMM-E2E {key}; last lines:\n"
                       f"{self.run.tail(25)}")
        return got

    def expect_marker(self, tag, key, want, what=""):
        got = self.marker(tag, key)
        if got != want:
            raise Fail(f"{what or key}: guest {tag} {key}={got!r}, expected {want!r}")


def api_run(run):
    """ApiRun of `run` after the common checks: the driver ended by itself with rc 0."""
    a = ApiRun(run)
    errors = {k: v for k, v in a.facts.items() if k == "error" or k.endswith("-error")}
    if errors:
        raise Fail(f"driver could not finish: {errors}; last lines:\n{run.tail(25)}")
    if run.rc != 0:
        raise Fail(f"driver exit code {run.rc}, expected 0; last lines:\n{run.tail(25)}")
    a.expect("driver-done", "0")
    return a


def driver_shell(sub, extra=""):
    return lambda vmm: f"{DRIVER} {sub} {COMMON} {extra} </dev/null 2>&1"


# ---------------------------------------------------------------------------------------------
# api-pause-resume
# ---------------------------------------------------------------------------------------------
STATES = ("created>running,running>paused,paused>running,running>stopping,stopping>stopped")
CAPS = ("pause_resume", "graceful_stop", "multiple_machines_per_process", "block_backing_swap",
        "block_read_only_update", "kvm_available")


def check_pause_resume(run):
    a = api_run(run)
    caps = a.fact("capabilities").split(",")
    missing = [c for c in CAPS if c not in caps]
    if missing:
        raise Fail(f"capabilities lack {missing}: {caps}")
    for key, want in (("state-after-create", "created"), ("vcpu-tids-before-start", "0,0"),
                      ("resume-when-created", "invalid_state"), ("state-after-start", "running"),
                      ("start-when-running", "invalid_state"), ("state-after-pause", "paused"),
                      ("state-still-paused", "paused"), ("pause-when-paused", "invalid_state"),
                      ("wait-for-paused", "timeout"), ("state-after-resume", "running"),
                      ("resume-when-running", "invalid_state"), ("wait-for-running", "timeout"),
                      ("vcpu-tids-in-process", "1"), ("exit-reason", "stopped_by_host"),
                      ("state-final", "stopped"), ("states", STATES),
                      ("wait-again", "stopped_by_host"), ("pause-when-stopped", "invalid_state")):
        a.expect(key, want)
    if a.number("tick-at-pause") < 5:
        raise Fail(f"paused before tick 5:\n{a.quote()}")
    if a.number("bytes-while-paused") != 0:
        raise Fail(f"the paused guest wrote {a.fact('bytes-while-paused')} console bytes in 2 s "
                   f"(after a 50 ms grace):\n{a.quote()}")
    last = a.number("last-tick-before-pause")
    if a.number("first-tick-after-resume") != last + 1:
        raise Fail(f"the count did not continue: last tick before pause {last:.0f}, first after "
                   f"resume {a.fact('first-tick-after-resume')}:\n{a.quote()}")
    if a.number("tick-after-resume") < last + 5:
        raise Fail(f"the count did not go on after resume:\n{a.quote()}")
    check_pause_metrics(a)


def check_pause_metrics(a):
    tids = [int(t) for t in a.fact("vcpu-tids").split(",")]
    if len(tids) != 2 or 0 in tids or len(set(tids)) != 2 or \
            int(a.fact("driver-pid")) in tids:
        raise Fail(f"vcpu thread ids {tids}: expected 2 distinct non-zero threads other than the "
                   f"main thread (pid {a.fact('driver-pid')})")
    paused, running, stopped = (a.json(k) for k in ("metrics-paused-json", "metrics-json",
                                                    "metrics-stopped-json"))
    for name, m, state in (("paused", paused, "paused"), ("running", running, "running"),
                           ("stopped", stopped, "stopped")):
        if m.get("state") != state:
            raise Fail(f"metrics {name}: state {m.get('state')!r}, expected {state!r}: {m}")
    if [v.get("thread_id") for v in running.get("vcpus", [])] != tids:
        raise Fail(f"metrics vcpus {running.get('vcpus')} do not match vcpu_thread_ids {tids}")
    if not all(v.get("exits", 0) > 0 for v in running["vcpus"]):
        raise Fail(f"a vCPU reports no exits: {running['vcpus']}")
    if not running.get("uptime_ns", 0) > paused.get("uptime_ns", 0) > 0:
        raise Fail(f"uptime_ns does not grow: paused {paused.get('uptime_ns')}, later "
                   f"{running.get('uptime_ns')}")


# ---------------------------------------------------------------------------------------------
# api-graceful-stop
# ---------------------------------------------------------------------------------------------
def check_graceful_common(a, v, reason, cad):
    a.expect(f"{v}-request-when-created", "invalid_state")
    a.expect(f"{v}-second-request", "invalid_state", "a second request while one is pending")
    a.expect(f"{v}-exit-reason", reason)
    a.expect(f"{v}-request-when-stopped", "invalid_state")
    a.expect(f"{v}-state-final", "stopped")
    a.expect_marker(v, "cad-setting", cad, "kernel.ctrl-alt-del in the guest")


def check_graceful_stop(run):
    a = api_run(run)
    check_graceful_common(a, "default", "guest_reset", "1")
    if a.number("default-elapsed-ms") > 5000:
        raise Fail(f"the default Ctrl-Alt-Del took {a.fact('default-elapsed-ms')} ms to reset "
                   f"the guest (deadline 10000):\n{a.quote()}")
    check_graceful_common(a, "trap", "guest_reset", "0")
    a.expect("trap-marker-seen", "1", "the guest's SIGINT handler (graceful-stop-received)")
    if a.number("trap-elapsed-ms") > 8000:
        raise Fail(f"the trapping guest took {a.fact('trap-elapsed-ms')} ms (deadline 10000)")
    check_graceful_common(a, "ignore", "graceful_stop_timeout", "0")
    a.expect("ignore-marker-seen", "0")
    elapsed = a.number("ignore-elapsed-ms")
    if not 2900 <= elapsed <= 8000:
        raise Fail(f"the ignoring guest was stopped {elapsed:.0f} ms after the request, expected "
                   f"about the 3000 ms deadline:\n{a.quote()}")
    if a.number("ignore-alive-lines-after-1s") < 2:
        raise Fail(f"the ignoring guest did not keep running until the deadline:\n{a.quote()}")


# ---------------------------------------------------------------------------------------------
# api-two-machines
# ---------------------------------------------------------------------------------------------
def check_two_machines(run):
    a = api_run(run)
    all_tids = []
    for name, vcpus in (("m1", 1), ("m2", 2)):
        a.expect(f"{name}-state-while-both-hold", "running")
        a.expect(f"{name}-exit-reason", "guest_reset")
        a.expect(f"{name}-state-final", "stopped")
        a.expect_marker(name, "nproc", str(vcpus))
        a.expect_marker(name, "tag", f"api-{name}", "cmdline tag")
        a.expect_marker(name, "hold-end", f"go-{name}", "the console line sent to this machine")
        tids = [int(t) for t in a.fact(f"{name}-vcpu-tids").split(",")]
        if len(tids) != vcpus or 0 in tids:
            raise Fail(f"{name}: vcpu thread ids {tids}, expected {vcpus} non-zero")
        all_tids += tids
        if len(a.json(f"{name}-metrics-json").get("vcpus", [])) != vcpus:
            raise Fail(f"{name}: metrics vcpus != {vcpus}: {a.fact(f'{name}-metrics-json')}")
    if len(set(all_tids)) != len(all_tids):
        raise Fail(f"the machines share vCPU threads: {all_tids}")
    starts = [a.number(f"{n}-hold-start-ms") for n in ("m1", "m2")]
    ends = [a.number(f"{n}-hold-end-ms") for n in ("m1", "m2")]
    if not max(starts) < min(ends):
        raise Fail(f"the guests' hold windows do not overlap: starts {starts}, ends {ends}")


# ---------------------------------------------------------------------------------------------
# api-disk-swap
# ---------------------------------------------------------------------------------------------
DISK_DIR = "/tmp/e2e-api-disk"
MIB = 1 << 20


def disk_swap_shell(vmm):
    files = (f"--scratch {DISK_DIR}/scratch.img --disk-a {DISK_DIR}/a.img "
             f"--disk-b {DISK_DIR}/b.img --disk-ro {DISK_DIR}/ro.img "
             f"--missing {DISK_DIR}/missing.img")
    return l1_mark_helpers() + f"""
D={DISK_DIR}
rm -rf "$D"; mkdir -p "$D"
truncate -s 1M "$D/scratch.img"
dd if=/dev/urandom of="$D/a.img" bs=1M count=8 2>/dev/null
dd if=/dev/urandom of="$D/b.img" bs=1M count=12 2>/dev/null
cp "$D/a.img" "$D/ro.img"
mark l1-sha-a "$(sha256sum "$D/a.img" | cut -d' ' -f1)"
mark l1-sha-b "$(sha256sum "$D/b.img" | cut -d' ' -f1)"
mark l1-sha-ro "$(sha256sum "$D/ro.img" | cut -d' ' -f1)"
{DRIVER} disk-swap {COMMON} {files} </dev/null 2>&1
rc=$?
mark l1-sha-ro-after "$(sha256sum "$D/ro.img" | cut -d' ' -f1)"
rm -rf "$D"
exit $rc
"""


def check_disk_swap(run):
    a = api_run(run)
    sha = {k: run.markers.get(f"l1-sha-{k}") for k in ("a", "b", "ro", "ro-after")}
    if None in sha.values():
        raise Fail(f"L1 sha256 markers missing: {sha}")
    a.expect_marker("swap", "swap-sectors-before", str(8 * MIB // 512))
    a.expect_marker("swap", "swap-sha256-before", sha["a"], "vdb (file A) read with O_DIRECT")
    a.expect_marker("swap", "swap-sectors-after", str(12 * MIB // 512), "capacity after the swap")
    a.expect_marker("swap", "swap-sha256-after", sha["b"], "vdb after the swap (file B)")
    for key, want in (("swap-set-ro-when-running", "invalid_state"),
                      ("swap-replace-missing", "ENOENT"),
                      ("swap-replace-unknown-id", "invalid_config"),
                      ("swap-before-id", "vdb"), ("swap-before-path", f"{DISK_DIR}/a.img"),
                      ("swap-before-backing-swaps", "0"),
                      ("swap-before-capacity", str(8 * MIB)),
                      ("swap-after-path", f"{DISK_DIR}/b.img"),
                      ("swap-after-capacity", str(12 * MIB)), ("swap-after-backing-swaps", "1"),
                      ("swap-exit-reason", "guest_reset"), ("swap-end-backing-swaps", "1"),
                      ("swap-end-errors", "0"), ("swap-replace-when-stopped", "invalid_state"),
                      ("ro-set-unknown-id", "invalid_config"), ("ro-created-read-only", "1"),
                      ("ro-set-when-running", "invalid_state"), ("ro-exit-reason", "guest_reset"),
                      ("ro-end-read-only", "1")):
        a.expect(key, want)
    if a.number("swap-end-read-bytes") < 20 * MIB:
        raise Fail(f"vdb read_bytes {a.fact('swap-end-read-bytes')}: the guest read 8 + 12 MiB")
    a.expect_marker("ro", "ro-sysfs-ro", "1", "/sys/block/vdb/ro after set_disk_read_only")
    a.expect_marker("ro", "ro-write", "failed", "O_DIRECT write to the read-only vdb")
    a.expect_marker("ro", "ro-sha256", sha["ro"], "the read-only vdb's contents")
    if sha["ro-after"] != sha["ro"]:
        raise Fail("the read-only image changed during the run")


# ---------------------------------------------------------------------------------------------
# api-console-input
# ---------------------------------------------------------------------------------------------
def check_console_input(run):
    a = api_run(run)
    a.expect("input-when-created", "invalid_state")
    a.expect_marker("con", "console-line1", "hello-from-api 12345", "the first typed line")
    a.expect("input-oversized", "ENOBUFS", "8 KiB at once (UART buffer 4 KiB)")
    a.expect_marker("con", "console-line2", "quit", "the second typed line")
    a.expect("exit-reason", "guest_reset")
    a.expect("input-when-stopped", "invalid_state")


MINIVMM = ("minivmm",)
EXTRA_SCENARIOS = [
    ("api-pause-resume", driver_shell("pause-resume"), check_pause_resume, 180, MINIVMM),
    ("api-graceful-stop", driver_shell("graceful-stop"), check_graceful_stop, 300, MINIVMM),
    ("api-two-machines", driver_shell("two-machines"), check_two_machines, 240, MINIVMM),
    ("api-disk-swap", disk_swap_shell, check_disk_swap, 240, MINIVMM),
    ("api-console-input", driver_shell("console-input"), check_console_input, 180, MINIVMM),
]
