"""sandbox-run scenarios of the minivmm e2e tests (examples/sandbox, PROTOCOL.md there).

sandbox-run links minivmm as a library, boots the guest kernel with an initramfs it writes at run
time (minivmm-agent, static, as /init), mounts the root from a host directory (virtiofsd, in L1's
payload) or an ext4 image, and runs one command per vsock connection through the agent. Each
sandbox-run call below is a separate sandbox boot inside L1; the L1 snippet prints every result
as an `l1-` marker (output, exit code) and check() compares them with what the issue asks for.
minivmm only: sandbox-run is minivmm's embedder.
"""
import os

from harness import Fail, expect_marker, expect_value, l1_mark_helpers

SANDBOX_RUN = "/payload/sandbox-run"
VIRTIOFSD = "/payload/virtiofsd"


def payload(build_dir, workdir):
    """build_l1.sh arguments: sandbox-run and the agent it finds next to itself."""
    args = []
    for name, rel in (("sandbox-run", "examples/sandbox/sandbox-run"),
                      ("minivmm-agent", "examples/sandbox/minivmm-agent")):
        path = os.path.join(build_dir, rel)
        if not os.access(path, os.X_OK):
            raise SystemExit(f"e2e: ERROR: {path} missing (ninja -C {build_dir} sandbox-run)")
        args += ["--bin", f"{path}={name}"]
    return args


def _head(d):
    return f"""{l1_mark_helpers()}
D={d}
rm -rf "$D"; mkdir -p "$D"
export MINIVMM_KERNEL=/payload/vmlinux
# sbx NAME ARGS...: one sandbox-run call; stdout, stderr and the console go to $D/NAME.*; prints
# the exit code as l1-NAME-rc and both outputs (newlines as '|') as l1-NAME-out / -err.
sbx() {{
  _n=$1; shift
  timeout -s KILL 150 {SANDBOX_RUN} --console "$D/$_n.console" "$@" >"$D/$_n.out" 2>"$D/$_n.err"
  _rc=$?
  mark "l1-$_n-rc" $_rc
  show "$_n"
}}
show() {{
  mark "l1-$1-out" "$(tr '\\n' '|' <"$D/$1.out")"
  mark "l1-$1-err" "$(tr '\\n' '|' <"$D/$1.err")"
  [ -s "$D/$1.console" ] && sed "s/^/E2E-L1 $1 console: /" "$D/$1.console"
  return 0
}}
"""


def shell_sandbox_dir(vmm):
    root = ["--rootfs-dir", "$D/root", "--virtiofsd", VIRTIOFSD]
    r = " ".join(root)
    return _head("/tmp/e2e-sbx") + f"""
mkdir -p "$D/root" && tar -xf /payload/rootfs-tree.tar -C "$D/root"
# Bad input: one line on stderr, exit 125, no sandbox booted.
sbx bad-nocmd {r}
sbx bad-both {r} --rootfs /nonexistent.img -- true
sbx bad-kernel --kernel /no/vmlinux {r} -- true
# The issue's example.
sbx example {r} -- /bin/sh -c 'echo hi; exit 3'
# stderr relayed separately; env and cwd honoured; --timing.
sbx envcwd {r} --timing -e GREETING=hello -w /tmp -- /bin/sh -c 'echo "$GREETING from $(pwd)"; echo to-stderr >&2'
# stdin forwarded until EOF.
printf 'line1\\nline2\\n' | timeout -s KILL 150 {SANDBOX_RUN} --console "$D/stdin.console" {r} -- cat >"$D/stdin.out" 2>"$D/stdin.err"
mark l1-stdin-rc $?
show stdin
# A command that does not exist: 127 as a shell.
sbx notfound {r} -- /no/such/command
# 4 concurrent commands in one sandbox, each on its own vsock connection.
sbx parallel {r} --parallel 4 -- /bin/sh -c 'sleep 1; echo "instance $SANDBOX_INSTANCE"'
# SIGTERM to sandbox-run is forwarded to the command (sleep): 128 + 15.
{SANDBOX_RUN} --console "$D/signal.console" {r} -- /bin/sh -c 'echo started; exec sleep 100' \\
  >"$D/signal.out" 2>"$D/signal.err" &
sp=$!
if wait_for started "$D/signal.out" 120 $sp; then
  kill -TERM $sp
fi
wait $sp
mark l1-signal-rc $?
show signal
pidof virtiofsd >/dev/null 2>&1 && mark l1-virtiofsd-left yes
ls /tmp | grep -q '^sandbox-run\\.' && mark l1-runtime-dir-left yes
rm -rf "$D"
exit 0
"""


def _expect_out(run, name, want, what):
    expect_value(run, f"l1-{name}-out", want, what)


def check_sandbox_dir(run):
    for name in ("bad-nocmd", "bad-both", "bad-kernel"):
        expect_value(run, f"l1-{name}-rc", "125", f"sandbox-run {name}: own-error exit code")
        err = expect_marker(run, f"l1-{name}-err")
        if err.count("|") != 1 or not err.startswith("sandbox-run: error: "):
            raise Fail(f"{name}: expected one 'sandbox-run: error: ...' line, got {err!r}")
    if "/no/vmlinux" not in run.markers["l1-bad-kernel-err"]:
        raise Fail(f"missing kernel error does not name it: {run.markers['l1-bad-kernel-err']!r}")
    expect_value(run, "l1-example-rc", "3", "sandbox-run -- /bin/sh -c 'echo hi; exit 3'")
    _expect_out(run, "example", "hi|", "the example's stdout")
    expect_value(run, "l1-envcwd-rc", "0", "env/cwd run")
    _expect_out(run, "envcwd", "hello from /tmp|", "-e GREETING=hello -w /tmp")
    err = expect_marker(run, "l1-envcwd-err")
    lines = err.split("|")
    if len(lines) != 3 or lines[0] != "to-stderr" or \
            not lines[1].startswith("sandbox-run: timing: first output "):
        raise Fail(f"stderr should hold the command's line, then the --timing line: {err!r}")
    expect_value(run, "l1-stdin-rc", "0", "stdin run")
    _expect_out(run, "stdin", "line1|line2|", "stdin forwarded to cat")
    expect_value(run, "l1-notfound-rc", "127", "a command that does not exist")
    expect_value(run, "l1-parallel-rc", "0", "--parallel 4")
    out = expect_marker(run, "l1-parallel-out")
    lines = sorted(x for x in out.split("|") if x)
    if lines != [f"[{i}] instance {i}" for i in range(4)]:
        raise Fail(f"--parallel 4 output: {lines!r}")
    expect_value(run, "l1-signal-rc", "143", "SIGTERM forwarded to the command (128 + 15)")
    _expect_out(run, "signal", "started|", "the signalled command's output")
    for bad, what in (("l1-virtiofsd-left", "virtiofsd still runs after sandbox-run exited"),
                      ("l1-runtime-dir-left", "a sandbox-run runtime dir is left in /tmp")):
        if bad in run.markers:
            raise Fail(what)


def shell_sandbox_img(vmm):
    return _head("/tmp/e2e-sbx-img") + f"""
mkdir -p "$D/tree" && tar -xf /payload/rootfs-tree.tar -C "$D/tree"
truncate -s 64M "$D/root.img" && /payload/mkfs.ext4 -q -F -d "$D/tree" "$D/root.img" || exit 90
sbx img --rootfs "$D/root.img" -- /bin/sh -c 'grep " / " /proc/mounts | tail -n 1 | cut -d" " -f3; echo written >/data.txt; exit 5'
# The sandbox ended cleanly (the agent synced and remounted / read-only before its reboot).
/payload/e2fsck -fn "$D/root.img" >"$D/fsck.log" 2>&1
mark l1-fsck-rc $?
sed 's/^/E2E-L1 e2fsck: /' "$D/fsck.log"
/payload/debugfs -R "cat /data.txt" "$D/root.img" 2>/dev/null >"$D/data.txt"
mark l1-data "$(cat "$D/data.txt")"
rm -rf "$D"
exit 0
"""


def check_sandbox_img(run):
    if run.rc == 90:
        raise Fail("mkfs.ext4 of the root image failed in L1")
    expect_value(run, "l1-img-rc", "5", "sandbox-run --rootfs IMG exit code")
    _expect_out(run, "img", "ext4|", "the command saw / as ext4")
    expect_value(run, "l1-fsck-rc", "0", "e2fsck -fn of the image after sandbox-run")
    expect_value(run, "l1-data", "written", "a file the command wrote, in the image")


EXTRA_SCENARIOS = [
    ("sandbox-run", shell_sandbox_dir, check_sandbox_dir, 600, ("minivmm",)),
    ("sandbox-run-img", shell_sandbox_img, check_sandbox_img, 240, ("minivmm",)),
]
