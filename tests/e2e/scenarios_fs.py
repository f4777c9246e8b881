"""virtio-fs scenarios of the minivmm e2e tests, with the real virtiofsd (Debian's C daemon, put in
L1 as /payload/virtiofsd with its libraries).

minivmm starts virtiofsd itself with `--share tag=e2e,dir=DIR[,ro]` (and `--rootfs-dir`); the
`fs-external` variant connects to a virtiofsd the L1 snippet starts (`--fs`). The scenarios are
minivmm-only: with the flags in fs_flags() virtiofsd drops QEMU's connection at SET_MEM_TABLE
(QEMU 7.2: "vhost_set_mem_table failed: Input/output error"); bench/fs/fs_bench.py found that
QEMU microvm also needs `-global virtio-mmio.force-legacy=false` (virtiofsd refuses the legacy
virtio-mmio device), which is not yet tried here. L1 prepares the
shared directory before the boot and checks it after the VMM exited.
"""
from harness import (BASE_CMDLINE, VMLINUX, VMM_FINISH, Fail, check_boot, expect_equal,
                     expect_marker, expect_value, l1_mark_helpers, l2_command, vmm_background)

VIRTIOFSD = "/payload/virtiofsd"


def fs_dir(vmm):
    return f"/tmp/e2e-fs-{vmm}"


def fs_flags(vmm, external, ro=False, memory=256):
    """(extra_minivmm, extra_qemu): share tag e2e of $D/share; external: a virtiofsd the
    snippet starts on $D/vfs.sock."""
    d = fs_dir(vmm)
    if external or vmm == "qemu":
        mv = ["--fs", f"tag=e2e,socket={d}/vfs.sock"]
    else:
        mv = ["--share", f"tag=e2e,dir={d}/share" + (",ro" if ro else ""),
              "--virtiofsd", VIRTIOFSD]
    qm = ["-object", f"memory-backend-memfd,id=mem,size={memory}M,share=on",
          "-machine", "memory-backend=mem",
          "-chardev", f"socket,id=vfs,path={d}/vfs.sock",
          "-device", "vhost-user-fs-device,chardev=vfs,tag=e2e"]
    return mv, qm


PREPARE = r"""
mkdir -p "$D/share"
echo hello-from-l1 >"$D/share/hello.txt"
dd if=/dev/urandom of="$D/share/blob.bin" bs=1M count=1 2>/dev/null
mark l1-blob-sha256 "$(sha256sum "$D/share/blob.bin" | cut -d' ' -f1)"
echo delete-me >"$D/share/delete-me.txt"
"""

# Starts virtiofsd on $D/vfs.sock for $D/share and waits (10 s) for its socket.
START_VIRTIOFSD = r"""
# --thread-pool-size=0 as minivmm's launcher uses (virtiofsd_launcher.hpp: a pool gets this
# virtiofsd killed by its own seccomp filter under load).
/payload/virtiofsd --socket-path="$D/vfs.sock" -o source="$D/share" -o cache=auto \
  --thread-pool-size=0 >"$D/virtiofsd.log" 2>&1 &
vfs=$!
i=0
while [ ! -S "$D/vfs.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
"""


def snippet_head(vmm):
    return f"""{l1_mark_helpers()}
D={fs_dir(vmm)}
rm -rf "$D"; mkdir -p "$D"
mark l1-vmm {vmm}
"""


def shell_fs(vmm, external=False):
    mv, qm = fs_flags(vmm, external)
    cmd = l2_command(vmm, VMLINUX, 256, cmdline=f"{BASE_CMDLINE} e2e.script=fs",
                     extra_minivmm=mv, extra_qemu=qm)
    start = START_VIRTIOFSD if external or vmm == "qemu" else ""
    return snippet_head(vmm) + PREPARE + start + f"""
{cmd}
rc=$?
S="$D/share"
mark l1-new "$(cat "$S/new.txt" 2>&1)"
mark l1-renamed "$(cat "$S/after-rename.txt" 2>&1)"
[ -e "$S/before-rename.txt" ] && mark l1-old-name-left yes
[ -e "$S/delete-me.txt" ] && mark l1-deleted-left yes
mark l1-nested "$(cat "$S/dir/sub/file.txt" 2>&1)"
mark l1-symlink "$(readlink "$S/link")"
n=0; bad=0
for f in "$S"/many/f*; do
  n=$((n + 1))
  [ "$(cat "$f")" = "file-${{f##*/f}}" ] || bad=$((bad + 1))
done
mark l1-many-count $n
mark l1-many-bad $bad
mark l1-big-sha256 "$(sha256sum "$S/big.bin" | cut -d' ' -f1)"
[ -s "$D/virtiofsd.log" ] && sed 's/^/E2E-L1 virtiofsd: /' "$D/virtiofsd.log"
[ -n "$vfs" ] && ! kill -0 $vfs 2>/dev/null && wait $vfs; mark l1-virtiofsd-status $?
dmesg | grep -i -E "audit|seccomp|segfault|virtiofsd" | tail -5 | sed 's/^/E2E-L1 dmesg: /'
[ -n "$vfs" ] && kill $vfs 2>/dev/null
pidof virtiofsd >/dev/null 2>&1 && mark l1-virtiofsd-left yes
rm -rf "$D"
exit $rc
"""


def check_fs(run):
    check_boot(run)
    expect_value(run, "mount", "ok", "mount -t virtiofs e2e /mnt")
    expect_value(run, "read-hello", "hello-from-l1", "guest read of an L1 file")
    expect_equal(run, "read-blob-sha256", "l1-blob-sha256", "guest read of a 1 MiB L1 file")
    expect_value(run, "l1-new", "created-in-guest", "a file the guest created, seen in L1")
    expect_value(run, "l1-renamed", "renamed-content", "a file the guest renamed, seen in L1")
    expect_value(run, "l1-nested", "nested", "a file in directories the guest made")
    expect_value(run, "l1-symlink", "dir/sub/file.txt", "a symlink the guest made")
    expect_value(run, "symlink", "nested", "reading through the symlink in the guest")
    for bad, what in (("l1-old-name-left", "the old name of a renamed file is still in L1"),
                      ("l1-deleted-left", "a file the guest deleted is still in L1"),
                      ("l1-virtiofsd-left", "virtiofsd still runs after the VMM exited")):
        if bad in run.markers:
            raise Fail(f"{what}:\n{run.quote_markers()}")
    expect_value(run, "many-written", "1000", "1000 small files listed in the guest")
    expect_value(run, "l1-many-count", "1000", "1000 small files in L1")
    expect_value(run, "l1-many-bad", "0", "small files with the wrong content in L1")
    expect_equal(run, "big-sha256", "l1-big-sha256", "64 MiB file written by the guest, in L1")
    expect_equal(run, "big-sha256", "big-readback-sha256", "64 MiB file read back in the guest")
    expect_value(run, "umount", "ok", "umount /mnt")


def shell_fs_ro(vmm):
    mv, qm = fs_flags(vmm, False, ro=True)
    cmd = l2_command(vmm, VMLINUX, 256, cmdline=f"{BASE_CMDLINE} e2e.script=fs-ro",
                     extra_minivmm=mv, extra_qemu=qm)
    return snippet_head(vmm) + PREPARE + f"""
{cmd}
rc=$?
mark l1-hello-after "$(cat "$D/share/hello.txt")"
mark l1-files-after "$(ls "$D/share" | tr '\\n' ' ')"
rm -rf "$D"
exit $rc
"""


def check_fs_ro(run):
    check_boot(run)
    expect_value(run, "read-hello", "hello-from-l1", "read of a read-only share")
    for op in ("create", "append", "delete", "mkdir"):
        expect_value(run, f"ro-{op}", "failed", f"guest {op} on a read-only share")
    expect_value(run, "l1-hello-after", "hello-from-l1", "L1 file after the guest's writes")
    expect_value(run, "l1-files-after", "blob.bin delete-me.txt hello.txt ",
                 "L1 directory after the guest's writes")


def shell_fs_kill(vmm):
    mv, qm = fs_flags(vmm, True)
    cmd = l2_command(vmm, VMLINUX, 256, cmdline=f"{BASE_CMDLINE} e2e.script=fs-kill",
                     extra_minivmm=mv + ["--log-level", "info"], extra_qemu=qm)
    return snippet_head(vmm) + PREPARE + START_VIRTIOFSD + vmm_background(cmd, 130) + """
if wait_for 'MINIVMM-E2E reading' "$D/console.log" 120 $pid; then
  sleep 1
  kill -KILL $vfs && mark l1-killed-virtiofsd yes
fi
""" + VMM_FINISH


def check_fs_kill(run):
    expect_value(run, "read-before", "hello-from-l1", "read before virtiofsd is killed")
    expect_value(run, "l1-killed-virtiofsd", "yes", "L1 killed virtiofsd while the guest reads")
    errors = expect_marker(run, "read-errors")
    if errors != "3":
        raise Fail(f"the guest saw {errors} read errors after virtiofsd died (want 3: errors, "
                   f"not hangs or success):\n{run.quote_markers()}")
    expect_marker(run, "alive")
    check_boot(run)
    if not [line for line in run.lines if "virtio-fs" in line and "backend" in line]:
        raise Fail(f"minivmm did not report the lost backend in its log:\n{run.tail()}")


def shell_rootfs_dir(vmm):
    d = fs_dir(vmm)
    cmd = l2_command(vmm, VMLINUX, 256, cmdline=f"{BASE_CMDLINE}", initrd=None,
                     extra_minivmm=["--rootfs-dir", f"{d}/root", "--virtiofsd", VIRTIOFSD])
    return snippet_head(vmm) + f"""
mkdir -p "$D/root" && tar -xf /payload/rootfs-tree.tar -C "$D/root"
{cmd}
rc=$?
pidof virtiofsd >/dev/null 2>&1 && mark l1-virtiofsd-left yes
rm -rf "$D"
exit $rc
"""


def check_rootfs_dir(run):
    check_boot(run)
    expect_value(run, "root", "rootfs:virtiofs:rw", "the guest's / (virtio-fs tag rootfs)")
    if "l1-virtiofsd-left" in run.markers:
        raise Fail(f"virtiofsd still runs after the VMM exited:\n{run.quote_markers()}")


FS_SCENARIOS = [
    ("fs", shell_fs, check_fs, 400, ("minivmm",)),
    ("fs-external", lambda vmm: shell_fs(vmm, external=True), check_fs, 400, ("minivmm",)),
    ("fs-ro", shell_fs_ro, check_fs_ro, 120, ("minivmm",)),
    ("fs-kill", shell_fs_kill, check_fs_kill, 150, ("minivmm",)),
    ("rootfs-dir", shell_rootfs_dir, check_rootfs_dir, 120, ("minivmm",)),
]
