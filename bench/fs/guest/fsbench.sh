#!/bin/sh
# Guest side of bench/fs/fs_bench.py, run by the e2e guest /init as /e2e/scripts/fsbench.sh
# (kernel cmdline `e2e.script=fsbench bench.files=N`). Mounts the virtio-fs share `bench` (L1's
# /tmp/fsbench/share, served by virtiofsd) at /mnt and times, with /bin/fsbench (fsbench.c,
# clock_gettime), five phases in this order:
#   seqread_cold  /mnt/big.bin (made by L1 before the boot) read to EOF in 1 MiB read()s, after
#                 `sync; echo 3 >/proc/sys/vm/drop_caches`                           (MB/s)
#   seqread_warm  the same file again without drop_caches (with cache=auto virtiofsd does not
#                 set FOPEN_KEEP_CACHE, so the guest still drops the pages at open)   (MB/s)
#   create        N files /mnt/meta/fI: open(O_CREAT|O_EXCL) + write 100 bytes + close (ops/s)
#   stat          stat() of the N files, after `echo 2 >drop_caches`                   (ops/s)
#   unlink        unlink() of the N files, after `echo 2 >drop_caches`                 (ops/s)
# Dropping dentries and inodes before stat and unlink makes every operation a FUSE round trip
# (LOOKUP, then UNLINK) instead of a hit in the guest's dentry cache, whose 1 s timeout would
# otherwise make the count of round trips depend on how fast the previous phase ran.
# Synchronisation with L1 (which samples the VMM's and virtiofsd's CPU time around each phase):
# the guest prepares a phase, prints NAME.ready and waits until L1 created /mnt/.go/NAME (L1 does
# that right after its "begin" snapshot). L1 takes its "end" snapshot on the result marker.
# Markers: `MINIVMM-BENCH key=value` (fsbench prints NAME=value, NAME.ops, NAME.secs, ...);
# NAME.irqs = virtio interrupts the guest took during the phase. Any failure ends the script
# (exit 1): the VMM then exits and L1 stops waiting.
mark() { echo "MINIVMM-BENCH $1=$2"; }
files=1000
set -f
for w in $(cat /proc/cmdline); do
  case "$w" in bench.files=*) files=${w#*=} ;; esac
done
set +f
irqs() { awk '/virtio/ { for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) s += $i; else break } END { print s + 0 }' /proc/interrupts; }

mkdir -p /mnt
if ! mount -t virtiofs bench /mnt; then mark error mount-failed; exit 1; fi
mark mount ok
mark nproc "$(grep -c '^processor' /proc/cpuinfo)"
for d in /sys/bus/virtio/devices/*; do
  [ "$(cat "$d/device" 2>/dev/null)" = 0x001a ] && mark fs-features "$(cat "$d/features")"
done
mark file-bytes "$(stat -c %s /mnt/big.bin 2>/dev/null || echo missing)"
[ -f /mnt/big.bin ] || { mark error no-big.bin; exit 1; }
[ -d /mnt/.go ] || { mark error no-.go-dir; exit 1; }

# phase NAME DROP FSBENCH-ARGS...: DROP = value for drop_caches (0: keep caches)
phase() {
  name=$1 drop=$2
  shift 2
  sync
  if [ "$drop" != 0 ]; then
    echo "$drop" >/proc/sys/vm/drop_caches || { mark "$name.failed" drop_caches; exit 1; }
  fi
  mark "$name.ready" 1
  fsbench wait "/mnt/.go/$name" 300 || { mark "$name.failed" no-go-from-L1; exit 1; }
  i0=$(irqs)
  fsbench "$@" || { mark "$name.failed" "rc=$?"; exit 1; }
  i1=$(irqs)
  mark "$name.irqs" $((i1 - i0))
}

phase seqread_cold 3 seqread /mnt/big.bin seqread_cold
phase seqread_warm 0 seqread /mnt/big.bin seqread_warm
rm -rf /mnt/meta
mkdir /mnt/meta || { mark error mkdir-meta; exit 1; }
phase create 0 create /mnt/meta "$files" create
phase stat 2 stat /mnt/meta "$files" stat
phase unlink 2 unlink /mnt/meta "$files" unlink
rmdir /mnt/meta || { mark error rmdir-meta; exit 1; }
umount /mnt || { mark error umount; exit 1; }
mark finished 1
