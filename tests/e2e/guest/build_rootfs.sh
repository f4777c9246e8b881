#!/usr/bin/env bash
# Builds the minivmm guest root filesystem: a sparse ext4 image made WITHOUT root privileges
# (`mkfs.ext4 -d DIR`) from the same busybox-static tree as the guest initramfs (guest_tree.sh),
# with guest/init as /sbin/init (the kernel runs /sbin/init when it mounts root=/dev/vda itself;
# there is no initramfs in this mode, and CONFIG_DEVTMPFS_MOUNT mounts /dev before init runs).
# Boot it with `minivmm run --kernel vmlinux --rootfs OUT.img --cmdline "console=ttyS0 reboot=k
# panic=-1 [e2e.script=NAME]"` (no --initrd): /sbin/init prints the same MINIVMM-E2E markers as
# the initramfs, runs /e2e/scripts/NAME.sh for `e2e.script=NAME` (e.g. sandbox, the quick-start
# guest), remounts / read-only (a clean filesystem for e2fsck) and reboots.
#
# Usage: build_rootfs.sh OUT.img [SIZE_MIB]     ext4 image, default 64 MiB, sparse
#        build_rootfs.sh --tar OUT.tar           the tree only (the e2e harness ships this into L1
#                                                and runs mkfs.ext4 -d there, at scenario time)
# Files in the image belong to the uid that ran the script (the guest runs everything as root,
# so this does not matter). Needs busybox-static, gcc (static glibc), e2fsprogs (mkfs.ext4 -d).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tar_out='' out='' size=64
case "${1:-}" in
  --tar) [ $# -eq 2 ] || { echo "usage: $0 --tar OUT.tar" >&2; exit 2; }; tar_out=$2 ;;
  ''|-h|--help) sed -n '2,16p' "$0" >&2; exit 2 ;;
  *) [ $# -le 2 ] || { echo "usage: $0 OUT.img [SIZE_MIB]" >&2; exit 2; }
     out=$1; size=${2:-64}
     case "$size" in ''|*[!0-9]*) echo "build_rootfs: SIZE_MIB must be a number" >&2; exit 2 ;; esac ;;
esac
mkfs=$(PATH=$PATH:/sbin:/usr/sbin command -v mkfs.ext4 || true)
[ -n "$tar_out" ] || [ -n "$mkfs" ] || { echo "build_rootfs: mkfs.ext4 missing (install e2fsprogs)" >&2; exit 1; }

root=$(mktemp -d "${TMPDIR:-/tmp}/minivmm-guest-rootfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
"$here/guest_tree.sh" "$root"
# busybox lists sbin/init (its own init, which wants /etc/inittab): the e2e init replaces it.
rm -f "$root/sbin/init"
mv "$root/init" "$root/sbin/init"
mkdir -p "$root"/{etc,root,data}
echo minivmm-guest >"$root/etc/hostname"

if [ -n "$tar_out" ]; then
  mkdir -p "$(dirname "$tar_out")"
  tar -C "$root" --owner=0 --group=0 --numeric-owner -cf "$tar_out.tmp" .
  mv "$tar_out.tmp" "$tar_out"
  echo "guest-rootfs: tree $tar_out ($(du -k "$tar_out" | cut -f1) KiB)" >&2
  exit 0
fi
mkdir -p "$(dirname "$out")"
rm -f "$out.tmp"
truncate -s "${size}M" "$out.tmp"
"$mkfs" -q -F -L minivmm-root -d "$root" "$out.tmp"
mv "$out.tmp" "$out"
echo "guest-rootfs: $out (${size} MiB ext4, $(du -k "$out" | cut -f1) KiB allocated)" >&2
