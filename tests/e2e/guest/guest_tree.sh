#!/usr/bin/env bash
# Fills DIR with the userspace shared by the L2 guest initramfs (build_initramfs.sh) and the guest
# root filesystem image (build_rootfs.sh): /bin/busybox (busybox-static) with one relative symlink
# per applet, /bin/boot_mark (static C tool writing the boot-timer port 0x440, from boot_mark.c),
# /bin/socktool (static TCP/vsock/Unix socket tool of the net and vsock scenarios, socktool.c),
# /init (guest/init: mounts, prints the MINIVMM-E2E markers, reboots) and /e2e/scripts/*.sh (the
# scenario scripts selected by the `e2e.script=NAME` kernel cmdline word).
# Needs busybox-static and gcc (static glibc).
# Usage: guest_tree.sh DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
root=$1
busybox=/bin/busybox
if ! [ -x "$busybox" ] || ! "$busybox" --list >/dev/null 2>&1; then
  echo "guest-tree: $busybox missing (install busybox-static)" >&2
  exit 1
fi
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,e2e/scripts}
chmod 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
# One relative symlink per applet, at the path busybox itself reports (bin, sbin, usr/bin...).
while IFS= read -r applet; do
  applet=${applet#/}
  [ "$applet" = bin/busybox ] && continue
  [ -e "$root/$applet" ] && continue
  case "$applet" in
    usr/*) ln -s ../../bin/busybox "$root/$applet" ;;
    *) ln -s ../bin/busybox "$root/$applet" ;;
  esac
done < <("$busybox" --list-full)

gcc -static -Os -s -Wall -Wextra -o "$root/bin/boot_mark" "$here/boot_mark.c"
gcc -static -O2 -s -Wall -Wextra -o "$root/bin/socktool" "$here/socktool.c"
install -m 0755 "$here/init" "$root/init"
for s in "$here"/scripts/*.sh; do
  [ -e "$s" ] && install -m 0755 "$s" "$root/e2e/scripts/"
done
exit 0
