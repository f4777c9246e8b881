"""Scenarios of the minivmm e2e tests for the programs in examples/ (minivmm only).

`c-example` runs examples/c/boot_guest.c (`minivmm-c-example`, built on the C API alone) in L1 on
the guest kernel and initramfs with 2 vCPUs: the guest's init must run and finish, the example
must print the library's capabilities (KVM available in L1), log the state changes created ->
running -> stopping -> stopped on stderr, report two vCPU threads, print
`boot_guest: exit reason: guest_reset (...)` after the guest's `reboot -f`, a metrics snapshot
in state stopped, and exit 0. `c-example-rootfs` boots the same way from a root filesystem image
(`--rootfs`, the C API's add_disk with MINIVMM_ROOT; 64 MiB ext4 made in L1, no initrd): root is
ext4 rw on the disk, the metrics list the disk as "root", and the image is clean afterwards.
"""
import json
import os
import re

from harness import (BASE_CMDLINE, GUEST_INITRD, VMLINUX, Fail, check_boot, check_l1_setup,
                     expect_marker, expect_value)
from scenarios_disk import rootfs_boot_snippet

C_EXAMPLE = "/payload/minivmm-c-example"
C_EXAMPLE_REL = "examples/c/minivmm-c-example"
C_CMDLINE = f"{BASE_CMDLINE} e2e.tag=c-example"


def payload(build_dir, workdir):
    path = os.path.join(os.path.abspath(build_dir), C_EXAMPLE_REL)
    if not os.access(path, os.X_OK):
        raise SystemExit(f"e2e: ERROR: {path} missing: build it (ninja -C {build_dir} "
                         "minivmm-c-example) or pass --build-dir")
    return ["--bin", f"{path}=minivmm-c-example"]


def c_example_shell(vmm):
    return (f"{C_EXAMPLE} --kernel {VMLINUX} --initrd {GUEST_INITRD} --memory 256 --vcpus 2 "
            f"--cmdline '{C_CMDLINE}' </dev/null")


def c_example_rootfs_shell(vmm):
    cmd = (f"{C_EXAMPLE} --kernel {VMLINUX} --rootfs \"$D/rootfs.img\" --memory 256 --vcpus 2 "
           f"--cmdline '{C_CMDLINE}' </dev/null")
    return rootfs_boot_snippet(vmm, cmd)


def _lines(run, pattern):
    return [m for m in (re.search(pattern, line) for line in run.lines) if m]


def _quote(run, word):
    shown = [line for line in run.lines if word in line]
    return "\n".join("    | " + line for line in shown) or f"    (no line with {word!r})"


def check_c_example(run):
    """The guest booted and rebooted; the example printed what the C API reported."""
    check_boot(run)
    expect_value(run, "nproc", "2", "guest CPUs booted through the C API")
    caps = _lines(run, r"boot_guest: minivmm (\S+), capabilities:(.*)$")
    if not caps:
        raise Fail(f"no capabilities line; last output lines:\n{run.tail()}")
    names = caps[0].group(2).split()
    for want in ("kvm_available", "pause_resume", "boot_vmlinux", "boot_initrd"):
        if want not in names:
            raise Fail(f"capability {want} missing from {names}")
    states = [(m.group(1), m.group(2)) for m in _lines(run, r"boot_guest: state (\w+) -> (\w+)")]
    want_states = [("created", "running"), ("running", "stopping"), ("stopping", "stopped")]
    if states != want_states:
        raise Fail(f"state changes {states}, expected {want_states}:\n{_quote(run, 'state')}")
    threads = _lines(run, r"boot_guest: (\d+) vCPU thread\(s\):((?: \d+)*)")
    if not threads or threads[0].group(1) != "2" or len(threads[0].group(2).split()) != 2:
        raise Fail(f"expected 2 vCPU thread ids:\n{_quote(run, 'vCPU thread')}")
    printed = [int(t) for t in threads[0].group(2).split()]
    exits = _lines(run, r"boot_guest: exit reason: (\w+) \((.*)\)$")
    if [m.group(1) for m in exits] != ["guest_reset"]:
        raise Fail(f"expected one exit reason line saying guest_reset:\n{_quote(run, 'exit')}")
    metrics = _lines(run, r"boot_guest: metrics: (\{.*\})$")
    if not metrics:
        raise Fail(f"no metrics line:\n{run.tail()}")
    try:
        snapshot = json.loads(metrics[0].group(1))
    except ValueError as e:
        raise Fail(f"metrics line is not JSON ({e}): {metrics[0].group(1)!r}")
    if snapshot.get("state") != "stopped" or len(snapshot.get("vcpus", [])) != 2:
        raise Fail(f"metrics: state {snapshot.get('state')!r}, "
                   f"{len(snapshot.get('vcpus', []))} vCPUs; expected stopped and 2")
    # Right after start a vCPU thread may not have published its id yet (0); by the end each has,
    # and the ids printed then must be the same threads.
    final = [v.get("thread_id", 0) for v in snapshot["vcpus"]]
    if 0 in final or any(p not in (0, f) for p, f in zip(printed, final)):
        raise Fail(f"vCPU thread ids {printed} after start, {final} in the final metrics")
    return snapshot


def check_c_example_rootfs(run):
    check_l1_setup(run)
    snapshot = check_c_example(run)
    root = expect_marker(run, "root")
    if not root.endswith(":ext4:rw"):
        raise Fail(f"guest root is {root!r}, expected DEVICE:ext4:rw:\n{run.quote_markers()}")
    disks = [(d.get("id"), d.get("read_only")) for d in snapshot.get("disks", [])]
    if disks != [("root", False)]:
        raise Fail(f"metrics disks {disks}, expected one read-write disk with id 'root'")
    if expect_marker(run, "l1-fsck-rc") != "0":
        raise Fail(f"e2fsck -fn on the image after the run failed:\n{run.tail(20)}")


EXTRA_SCENARIOS = [
    ("c-example", c_example_shell, check_c_example, 120, ("minivmm",)),
    ("c-example-rootfs", c_example_rootfs_shell, check_c_example_rootfs, 120, ("minivmm",)),
]
