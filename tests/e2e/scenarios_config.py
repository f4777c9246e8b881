"""`minivmm run --config` scenarios of the minivmm e2e tests (minivmm only: QEMU has no such file).

`config-file` writes a vm.json in L1 (kernel, initrd, 128 MiB, 2 vCPUs, a tagged cmdline, a "cli"
object) and checks, in order: `--print-config` with `--memory 300` prints the merged config as
JSON and exits 0 without starting a guest; a file with an unknown nested key and a missing file
each fail with exit code 3 and one stderr line naming the file and the key; a config without any
kernel fails with exit code 2; finally `minivmm run --config vm.json --memory 300` boots the guest,
which must see 2 CPUs (from the file), 300 MiB (the option overrides the file) and the file's
cmdline. The L1 side reports its facts as `MINIVMM-E2E key=value` lines (printf, one per line).

`console-stdin` boots from a config with `console.stdin_input` set and pipes 64 KiB of random
bytes (16 times the UART's receive FIFO) into minivmm's stdin once the guest has put its console
in raw mode; the guest's sha256 of the 64 KiB it reads must equal L1's: stdin is read only as
fast as the guest drains the FIFO, nothing is dropped.
"""
import json

from harness import (BASE_CMDLINE, GUEST_INITRD, VMLINUX, Fail, check_memory_and_cmdline,
                     check_nproc, expect_marker, expect_rc, expect_value, l1_mark_helpers)

CONFIG_DIR = "/tmp/e2e-config"
CMDLINE = f"{BASE_CMDLINE} e2e.tag=config-file"
VM_JSON = {
    "kernel_path": VMLINUX,
    "initrd_path": GUEST_INITRD,
    "memory_mib": 128,
    "vcpus": 2,
    "cmdline": CMDLINE,
    "console": {"output": "stdio"},
    "cli": {"log_level": "info"},
}
BAD_JSON = {"kernel_path": VMLINUX, "disks": [{"path": "/dev/null", "readonly": True}]}


def payload(build_dir, workdir):
    """minivmm itself is already /payload/minivmm; nothing else is needed."""
    return []


def config_shell(vmm):
    vm = json.dumps(VM_JSON, indent=2)
    bad = json.dumps(BAD_JSON)
    return f"""{l1_mark_helpers()}
D={CONFIG_DIR}
rm -rf "$D"; mkdir -p "$D"
cat >"$D/vm.json" <<'EOF'
{vm}
EOF
cat >"$D/bad.json" <<'EOF'
{bad}
EOF
echo '{{"memory_mib": 64}}' >"$D/nokernel.json"
M=/payload/minivmm
# facts NAME RC: the exit code, and the line count and first line of $D/NAME.err.
facts() {{
  mark "$1-rc" "$2"
  mark "$1-stderr-lines" "$(wc -l <"$D/$1.err")"
  mark "$1-stderr" "$(head -n 1 "$D/$1.err")"
}}
$M run --config "$D/vm.json" --memory 300 --print-config >"$D/print.json" 2>"$D/print.err" </dev/null
facts print $?
mark print-json "$(sed 's/^ *//' "$D/print.json" | tr -d '\\n')"
$M run --config "$D/bad.json" >"$D/bad.out" 2>"$D/bad.err" </dev/null
facts bad $?
$M run --config "$D/missing.json" >/dev/null 2>"$D/missing.err" </dev/null
facts missing $?
$M run --config "$D/nokernel.json" >/dev/null 2>"$D/nokernel.err" </dev/null
facts nokernel $?
$M run --config "$D/vm.json" --memory 300 </dev/null
"""


def expect_fact(run, key, want):
    got = expect_marker(run, key)
    if got != want:
        raise Fail(f"{key}={got!r}, expected {want!r}:\n{run.quote_markers()}")


def check_print_config(run):
    expect_fact(run, "print-rc", "0")
    expect_fact(run, "print-stderr-lines", "0")
    text = expect_marker(run, "print-json")
    try:
        printed = json.loads(text)
    except ValueError as e:
        raise Fail(f"--print-config output is not JSON ({e}): {text[:300]!r}")
    want = {"kernel_path": VMLINUX, "initrd_path": GUEST_INITRD, "memory_mib": 300, "vcpus": 2,
            "cmdline": CMDLINE}
    for key, value in want.items():
        if printed.get(key) != value:
            raise Fail(f"--print-config {key}={printed.get(key)!r}, expected {value!r}: {text}")
    if printed.get("cli", {}).get("log_level") != "info" or printed.get("vsock", 0) is not None:
        raise Fail(f"--print-config lacks the cli object or the null vsock: {text}")


def check_errors(run):
    expect_fact(run, "bad-rc", "3")
    expect_fact(run, "bad-stderr-lines", "1")
    expect_fact(run, "bad-stderr",
                f"minivmm: {CONFIG_DIR}/bad.json: disks[0].readonly: unknown key (known keys: "
                "id, path, read_only, serial, root)")
    expect_fact(run, "missing-rc", "3")
    expect_fact(run, "missing-stderr-lines", "1")
    expect_fact(run, "missing-stderr",
                f"minivmm: --config {CONFIG_DIR}/missing.json: No such file or directory")
    expect_fact(run, "nokernel-rc", "2")
    expect_fact(run, "nokernel-stderr-lines", "1")
    if "kernel_path" not in expect_marker(run, "nokernel-stderr"):
        raise Fail(f"a config without a kernel does not name kernel_path:\n{run.quote_markers()}")


def check_config_file(run):
    check_print_config(run)
    check_errors(run)
    check_nproc(2)(run)
    check_memory_and_cmdline(300, CMDLINE)(run)


STDIN_DIR = "/tmp/e2e-console-stdin"
STDIN_JSON = {
    "kernel_path": VMLINUX,
    "initrd_path": GUEST_INITRD,
    "memory_mib": 128,
    "cmdline": f"{BASE_CMDLINE} e2e.script=console-stdin",
    "console": {"output": "stdio", "stdin_input": True},
}


def console_stdin_shell(vmm):
    """64 KiB of random bytes through a pipe into minivmm's stdin, written only once the guest
    has put its console in raw mode (before that the line discipline would echo and edit them)."""
    vm = json.dumps(STDIN_JSON, indent=2)
    return f"""{l1_mark_helpers()}
D={STDIN_DIR}
rm -rf "$D"; mkdir -p "$D"
cat >"$D/vm.json" <<'EOF'
{vm}
EOF
head -c 65536 /dev/urandom >"$D/data"
mark l1-stdin-sha256 "$(sha256sum "$D/data" | cut -d' ' -f1)"
: >"$D/console.log"
{{ wait_for 'MINIVMM-E2E ready-for-stdin' "$D/console.log" 120 $$ && cat "$D/data"; }} |
  timeout -s KILL 150 /payload/minivmm run --config "$D/vm.json" >"$D/console.log" 2>&1
echo $? >"$D/vmm.rc"
cat "$D/console.log"
exit "$(cat "$D/vmm.rc")"
"""


def check_console_stdin(run):
    expect_marker(run, "ready-for-stdin")
    expect_value(run, "stdin-bytes", "65536", "bytes the guest read from its console in 60 s")
    want = expect_marker(run, "l1-stdin-sha256")
    got = expect_marker(run, "stdin-sha256")
    if got != want:
        raise Fail(f"the guest read stdin-sha256={got!r} from its console, but L1 piped "
                   f"{want!r} (64 KiB) into minivmm's stdin: bytes were lost or changed:\n"
                   f"{run.quote_markers()}")
    expect_rc(run, 0, "VMM (after the guest's reboot)")


EXTRA_SCENARIOS = [
    ("config-file", config_shell, check_config_file, 120, ("minivmm",)),
    ("console-stdin", console_stdin_shell, check_console_stdin, 200, ("minivmm",)),
]
