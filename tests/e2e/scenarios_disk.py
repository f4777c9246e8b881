"""virtio-blk scenarios of the minivmm e2e tests: disk images are created inside L1 (on its tmpfs
/tmp) at scenario time; see the section comment below."""
from harness import (BASE_CMDLINE, VMLINUX, Fail, check_boot, check_sandbox, check_l1_setup,
                     expect_equal, expect_marker, expect_value, l2_command)


# ---------------------------------------------------------------------------------------------
# virtio-blk scenarios: disk images are created inside L1 (on its tmpfs /tmp) at scenario time,
# the root filesystem with mkfs.ext4 -d from the guest tree (/payload/rootfs-tree.tar, made by
# guest/build_rootfs.sh --tar). L1-side results are printed as `MINIVMM-E2E l1-key=value` markers
# (printf, so `set -x` traces never look like markers) for check() to compare with the guest's.
# ---------------------------------------------------------------------------------------------
L1_DISK_HELPERS = r"""
mark() { printf 'MINIVMM-E2E %s=%s\n' "$1" "$2"; }
# mkrootfs IMG SIZE_MIB: sparse ext4 image of the guest tree (root owns everything inside L1).
mkrootfs() {
  rm -rf "$1.tree" "$1" && mkdir -p "$1.tree" && tar -xf /payload/rootfs-tree.tar -C "$1.tree" &&
  truncate -s "$2M" "$1" && /payload/mkfs.ext4 -q -F -L e2e-root -d "$1.tree" "$1" &&
  rm -rf "$1.tree"
}
# sha_head FILE MIB: sha256 of the first MIB MiB of FILE.
sha_head() { dd if="$1" bs=1M count="$2" 2>/dev/null | sha256sum | cut -d' ' -f1; }
# last_sector FILE: the last 512 bytes without NULs.
last_sector() { tail -c 512 "$1" | tr -d '\000'; }
"""


def disk_dir(vmm):
    """L1 work dir of a disk scenario ($D in its snippet); scenarios run one after the other."""
    return f"/tmp/e2e-disk-{vmm}"


def disk_snippet(vmm, body):
    """The L1 snippet: helpers, a fresh work dir $D = disk_dir(vmm), then `body`."""
    return f"{L1_DISK_HELPERS}\nD={disk_dir(vmm)}\nrm -rf \"$D\"; mkdir -p \"$D\"\n{body}\n"


def shell_rootfs(vmm):
    cmd = l2_command(vmm, VMLINUX, 256, cmdline=f"{BASE_CMDLINE} e2e.script=rootfs",
                     rootfs=(f"{disk_dir(vmm)}/rootfs.img", False))
    return disk_snippet(vmm, f"""
mkrootfs "$D/rootfs.img" 160 || {{ echo "E2E-L1 mkfs.ext4 failed"; exit 90; }}
{cmd}
rc=$?
/payload/e2fsck -fn "$D/rootfs.img" >"$D/fsck.log" 2>&1
mark l1-fsck-rc $?
sed 's/^/E2E-L1 e2fsck: /' "$D/fsck.log"
for f in small.txt random.bin; do
  /payload/debugfs -R "dump /data/$f $D/$f" "$D/rootfs.img" 2>"$D/debugfs.log" ||
    sed 's/^/E2E-L1 debugfs: /' "$D/debugfs.log"
done
mark l1-small-sha256 "$(sha256sum "$D/small.txt" 2>/dev/null | cut -d' ' -f1)"
mark l1-random-sha256 "$(sha256sum "$D/random.bin" 2>/dev/null | cut -d' ' -f1)"
mark l1-random-size "$(stat -c %s "$D/random.bin" 2>/dev/null)"
rm -rf "$D"
exit $rc""")


def check_rootfs(run):
    check_l1_setup(run)
    check_boot(run)
    root = expect_marker(run, "root")
    if not root.endswith(":ext4:rw"):
        raise Fail(f"guest root is {root!r}, expected the ext4 image mounted rw "
                   f"(DEVICE:ext4:rw):\n{run.quote_markers()}")
    expect_value(run, "random-write", "ok", "guest dd of 64 MiB onto the rootfs")
    if "warning" in run.markers:
        raise Fail(f"guest warning (remount read-only before reboot):\n{run.quote_markers()}")
    fsck = expect_marker(run, "l1-fsck-rc")
    if fsck != "0":
        fl = [line for line in run.lines if "E2E-L1 e2fsck" in line]
        raise Fail(f"e2fsck -fn on the image after the run: rc={fsck}:\n" +
                   "\n".join("    | " + line for line in fl[-15:]))
    expect_equal(run, "small-sha256", "l1-small-sha256", "/data/small.txt (debugfs dump)")
    expect_equal(run, "random-size", "l1-random-size", "/data/random.bin size")
    expect_value(run, "random-size", str(64 << 20), "/data/random.bin size in the guest")
    expect_equal(run, "random-sha256", "l1-random-sha256", "/data/random.bin (debugfs dump)")


def shell_disk_ro(vmm):
    cmd = l2_command(vmm, VMLINUX, 256, cmdline=f"{BASE_CMDLINE} e2e.script=disk-ro",
                     rootfs=(f"{disk_dir(vmm)}/rootfs.img", False),
                     disks=[(f"{disk_dir(vmm)}/ro.img", True, "e2e-ro")])
    return disk_snippet(vmm, f"""
mkrootfs "$D/rootfs.img" 64 || {{ echo "E2E-L1 mkfs.ext4 failed"; exit 90; }}
dd if=/dev/urandom of="$D/ro.img" bs=1M count=8 2>/dev/null
mark l1-ro-sha256-before "$(sha256sum "$D/ro.img" | cut -d' ' -f1)"
{cmd} &
pid=$!
# How the VMM opened ro.img: the octal `flags:` of every fd of it in /proc/PID/fdinfo.
set +x
flags=
while kill -0 $pid 2>/dev/null && [ -z "$flags" ]; do
  for fd in /proc/$pid/fd/*; do
    [ "$(readlink "$fd" 2>/dev/null)" = "$D/ro.img" ] || continue
    flags="$flags$(awk '/^flags:/ {{ print $2 }}' "/proc/$pid/fdinfo/${{fd##*/}}"),"
  done
  sleep 0.2
done
set -x
mark l1-ro-open-flags "${{flags:-none}}"
wait $pid
rc=$?
mark l1-ro-sha256-after "$(sha256sum "$D/ro.img" | cut -d' ' -f1)"
mark l1-ro-size-after "$(stat -c %s "$D/ro.img")"
rm -rf "$D"
exit $rc""")


def check_disk_ro(run):
    check_l1_setup(run)
    check_boot(run)
    flags = expect_marker(run, "l1-ro-open-flags")
    if flags == "none":
        raise Fail("never saw an open fd of ro.img in /proc/PID/fd of the VMM while it ran:\n"
                   f"{run.quote_markers()}")
    writable = [f for f in flags.split(",") if f and int(f, 8) & 3 != 0]  # O_ACCMODE != O_RDONLY
    if writable:
        raise Fail(f"the VMM opened the read-only image for writing (fdinfo flags {flags}):\n"
                   f"{run.quote_markers()}")
    expect_value(run, "ro-serial", "e2e-ro", "/sys/block/vdb/serial (GET_ID)")
    expect_value(run, "ro-sectors", str(8 << 11), "/sys/block/vdb/size (capacity)")
    expect_value(run, "ro-sysfs-ro", "1", "/sys/block/vdb/ro (VIRTIO_BLK_F_RO)")
    expect_equal(run, "ro-read-sha256", "l1-ro-sha256-before", "read of the read-only disk")
    expect_value(run, "ro-write-direct", "failed", "O_DIRECT write to the read-only disk")
    expect_value(run, "ro-write-buffered", "failed", "buffered write+fsync to the read-only disk")
    expect_equal(run, "ro-reread-sha256", "l1-ro-sha256-before", "re-read after the write attempts")
    expect_equal(run, "l1-ro-sha256-after", "l1-ro-sha256-before", "read-only image modified")
    expect_value(run, "l1-ro-size-after", str(8 << 20), "read-only image size")


def shell_two_disks(vmm):
    cmd = l2_command(vmm, VMLINUX, 256, cmdline=f"{BASE_CMDLINE} e2e.script=two-disks",
                     disks=[(f"{disk_dir(vmm)}/a.img", False, "e2e-a"),
                            (f"{disk_dir(vmm)}/b.img", False, "e2e-b")])
    return disk_snippet(vmm, f"""
truncate -s 8M "$D/a.img"; truncate -s 12M "$D/b.img"
{cmd}
rc=$?
for d in a b; do
  mark l1-vd$d-sha256 "$(sha_head "$D/$d.img" 4)"
  mark l1-vd$d-last-sector "$(last_sector "$D/$d.img")"
  mark l1-vd$d-size "$(stat -c %s "$D/$d.img")"
done
rm -rf "$D"
exit $rc""")


def check_two_disks(run):
    check_l1_setup(run)
    check_boot(run)
    for d, serial, mib in (("vda", "e2e-a", 8), ("vdb", "e2e-b", 12)):
        expect_value(run, f"{d}-serial", serial, f"/dev/{d} serial (disk order)")
        expect_value(run, f"{d}-sectors", str(mib << 11), f"/dev/{d} capacity in sectors")
        expect_value(run, f"{d}-write", "ok", f"4 MiB O_DIRECT write to /dev/{d}")
        expect_value(run, f"{d}-last-sector-write", "ok", f"write of the last sector of /dev/{d}")
        expect_equal(run, f"{d}-sha256", f"{d}-readback-sha256", f"guest read-back of /dev/{d}")
        expect_equal(run, f"{d}-sha256", f"l1-{d}-sha256", f"image of /dev/{d} in L1")
        expect_value(run, f"{d}-last-sector", f"E2E-LAST-SECTOR-{d}", f"last sector of /dev/{d}")
        expect_value(run, f"l1-{d}-last-sector", f"E2E-LAST-SECTOR-{d}",
                     f"last sector of /dev/{d}'s image in L1")
        expect_value(run, f"l1-{d}-size", str(mib << 20), f"/dev/{d}'s image size (grown?)")
    if run.markers["vda-sha256"] == run.markers["vdb-sha256"]:
        raise Fail(f"both disks got the same data:\n{run.quote_markers()}")


def shell_disk_full(vmm):
    cmd = l2_command(vmm, VMLINUX, 256, cmdline=f"{BASE_CMDLINE} e2e.script=disk-full",
                     disks=[(f"{disk_dir(vmm)}/full/disk.img", False)])
    return disk_snippet(vmm, f"""
mkdir -p "$D/full" && mount -t tmpfs -o size=16m e2e-full "$D/full" || exit 91
truncate -s 64M "$D/full/disk.img"
{cmd}
rc=$?
mark l1-full-used-kb "$(df -k "$D/full" | awk 'NR == 2 {{ print $3 }}')"
umount "$D/full"
rm -rf "$D"
exit $rc""")


def check_disk_full(run):
    check_l1_setup(run)
    expect_marker(run, "init-started")
    expect_value(run, "full-sectors", str(64 << 11), "/dev/vda capacity (64 MiB sparse file)")
    expect_value(run, "full-write", "failed",
                 "32 MiB O_DIRECT write onto a 16 MiB host filesystem (ENOSPC must be IOERR)")
    at = expect_marker(run, "full-failed-at-mib")
    if not at.isdigit() or not 8 <= int(at) <= 16:
        raise Fail(f"the write failed at MiB {at}, expected when the 16 MiB tmpfs filled up "
                   f"(8..16):\n{run.quote_markers()}")
    expect_value(run, "full-fsync", "failed",
                 "buffered write + fsync after the host filesystem filled up (a FLUSH must not "
                 "report success for data that was not stored)")
    errs = expect_marker(run, "full-dmesg-ioerrors")
    if not errs.isdigit() or int(errs) == 0:
        raise Fail(f"no 'I/O error' in the guest's dmesg:\n{run.quote_markers()}")
    expect_value(run, "full-readback-ok", "yes", "read-back of the first MiB after ENOSPC")
    expect_marker(run, "full-alive")
    check_boot(run)


def shell_durability(vmm):
    cmd = l2_command(vmm, VMLINUX, 256, cmdline=f"{BASE_CMDLINE} e2e.script=durability",
                     disks=[(f"{disk_dir(vmm)}/disk.img", False)])
    return disk_snippet(vmm, f"""
truncate -s 16M "$D/disk.img"
{cmd} >"$D/console.log" 2>&1 &
pid=$!
set +x  # the poll loop would flood the console
end=$(($(date +%s) + 120))
while ! grep -q 'MINIVMM-E2E synced' "$D/console.log"; do
  if ! kill -0 $pid 2>/dev/null; then mark l1-vmm-exited-early yes; break; fi
  if [ "$(date +%s)" -ge $end ]; then mark l1-synced-timeout yes; break; fi
  sleep 0.2
done
set -x
kill -KILL $pid
wait $pid
mark l1-vmm-rc $?
cat "$D/console.log"
mark l1-dur-sha256 "$(sha_head "$D/disk.img" 8)"
rm -rf "$D"
exit 0""")


def check_durability(run):
    check_l1_setup(run)
    expect_marker(run, "init-started")
    for bad, why in (("l1-vmm-exited-early", "the VMM exited before the guest printed `synced`"),
                     ("l1-synced-timeout", "no `synced` from the guest within 120 s")):
        if bad in run.markers:
            raise Fail(f"{why}; last output lines:\n{run.tail()}")
    expect_value(run, "dur-write", "ok", "8 MiB write + fsync to /dev/vda")
    expect_marker(run, "synced")
    expect_value(run, "l1-vmm-rc", "137", "VMM exit status after SIGKILL")
    expect_equal(run, "dur-sha256", "l1-dur-sha256",
                 "first 8 MiB of the image after SIGKILL (flushed data lost)")


def rootfs_boot_snippet(vmm, cmd):
    """L1 snippet: a fresh 64 MiB ext4 root image at $D/rootfs.img, then `cmd` (which boots from
    it), then a read-only e2fsck of the image (marker l1-fsck-rc); exits with cmd's status."""
    return disk_snippet(vmm, f"""
mkrootfs "$D/rootfs.img" 64 || {{ echo "E2E-L1 mkfs.ext4 failed"; exit 90; }}
{cmd}
rc=$?
/payload/e2fsck -fn "$D/rootfs.img" >"$D/fsck.log" 2>&1
mark l1-fsck-rc $?
sed 's/^/E2E-L1 e2fsck: /' "$D/fsck.log"
rm -rf "$D"
exit $rc""")


def shell_rootfs_sandbox(vmm):
    cmd = l2_command(vmm, VMLINUX, 256, vcpus=2,
                     cmdline=f"{BASE_CMDLINE} quiet e2e.script=sandbox",
                     rootfs=(f"{disk_dir(vmm)}/rootfs.img", False))
    return rootfs_boot_snippet(vmm, cmd)


def check_rootfs_sandbox(run):
    """What the quick start does with the rootfs image: sandbox script from the disk."""
    check_l1_setup(run)
    check_sandbox(run)
    root = expect_marker(run, "root")
    if not root.endswith(":ext4:rw"):
        raise Fail(f"guest root is {root!r}, expected DEVICE:ext4:rw:\n{run.quote_markers()}")
    if expect_marker(run, "l1-fsck-rc") != "0":
        fl = [line for line in run.lines if "E2E-L1 e2fsck" in line]
        raise Fail("e2fsck -fn on the image after the run failed:\n" +
                   "\n".join("    | " + line for line in fl[-15:]))


DISK_SCENARIOS = [
    ("rootfs-sandbox", shell_rootfs_sandbox, check_rootfs_sandbox, 90),
    ("rootfs", shell_rootfs, check_rootfs, 300),
    ("disk-ro", shell_disk_ro, check_disk_ro, 120),
    ("two-disks", shell_two_disks, check_two_disks, 120),
    ("disk-full", shell_disk_full, check_disk_full, 120),
    ("durability", shell_durability, check_durability, 150),
]
