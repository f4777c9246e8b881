#!/usr/bin/env bash
# Builds the minivmm e2e L2 guest initramfs (gzip'ed newc cpio) at OUT.cpio.gz.
#
# Contents (guest_tree.sh, shared with the root filesystem image of build_rootfs.sh):
# /bin/busybox (busybox-static) with a symlink per applet, /bin/boot_mark (static C tool writing
# the boot-timer port 0x440, from boot_mark.c), /init (guest/init: mounts, prints the MINIVMM-E2E
# markers, reboots) and /e2e/scripts/*.sh (scenario scripts selected by the `e2e.script=NAME`
# kernel cmdline word). Needs busybox-static, gcc (static glibc), cpio, gzip.
# Usage: build_initramfs.sh OUT.cpio.gz
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 1 ] || { echo "usage: $0 OUT.cpio.gz" >&2; exit 2; }
out=$1
root=$(mktemp -d "${TMPDIR:-/tmp}/minivmm-guest-initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
"$here/guest_tree.sh" "$root"
# /dev/console lets the kernel hand init a console; without root, /init reopens it from devtmpfs.
if [ "$(id -u)" -eq 0 ]; then
  mknod -m 600 "$root/dev/console" c 5 1
fi

mkdir -p "$(dirname "$out")"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc --owner=0:0 --reproducible) \
  | gzip -9 -n >"$out.tmp"
mv "$out.tmp" "$out"
echo "guest-initramfs: $out ($(du -k "$out" | cut -f1) KiB)" >&2
