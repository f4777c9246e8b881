#!/bin/sh
# Guest side of bench/blk/blk_bench.py, run by the e2e guest /init as /e2e/scripts/blkbench.sh
# (kernel cmdline `e2e.script=blkbench`). Measures /dev/vda with /bin/blkbench (blkbench.c):
# sequential write, sequential read, 4 KiB random read at queue depth 1 and at depth
# bench.jobs=N (N threads; 1 disables it). bench.seconds=T per measurement (default 5).
# Prints `MINIVMM-BENCH key=value` markers; NAME.start before each measurement (the host uses
# its timestamp to line up L1-side samples), NAME.irqs = virtio interrupts seen by the guest.
mark() { echo "MINIVMM-BENCH $1=$2"; }
secs=5 jobs=4 dev=/dev/vda
set -f
for w in $(cat /proc/cmdline); do
  case "$w" in bench.seconds=*) secs=${w#*=} ;; bench.jobs=*) jobs=${w#*=} ;; esac
done
set +f
irqs() { awk '/virtio/ { for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) s += $i; else break } END { print s + 0 }' /proc/interrupts; }
mark sectors "$(cat /sys/block/vda/size 2>/dev/null)"
mark nproc "$(grep -c '^processor' /proc/cpuinfo)"
mark scheduler "$(cat /sys/block/vda/queue/scheduler 2>/dev/null | tr ' ' ,)"
rc=0
run() {
  name=$1; shift
  mark "$name.start" 1
  i0=$(irqs)
  blkbench "$@" --seconds "$secs" --name "$name" || { mark "$name.failed" "rc=$?"; rc=1; }
  i1=$(irqs)
  mark "$name.irqs" $((i1 - i0))
}
run seqwrite seqwrite $dev
run seqread seqread $dev
run randread randread $dev
[ "$jobs" -gt 1 ] && run "randread_j$jobs" randread $dev --jobs "$jobs"
mark finished 1
exit $rc
