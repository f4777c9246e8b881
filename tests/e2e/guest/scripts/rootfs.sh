#!/bin/sh
# e2e scenario `rootfs` (booted from the ext4 image with root=/dev/vda rw, no initramfs): writes a
# small file and a 64 MiB pseudo-random file onto the root filesystem, syncs, drops the page cache
# so the checksums are computed from what the disk returns, and prints them as markers. /sbin/init
# then remounts / read-only and reboots; the L1 snippet checks the image with e2fsck and debugfs.
mark() { echo "MINIVMM-E2E $1=$2"; }
mkdir -p /data
echo "minivmm e2e rootfs: small file" >/data/small.txt
if dd if=/dev/urandom of=/data/random.bin bs=1M count=64 2>/tmp/dd.err; then
  mark random-write ok
else
  mark random-write failed
  mark random-write-error "$(tail -n1 /tmp/dd.err)"
fi
sync
echo 3 >/proc/sys/vm/drop_caches 2>/dev/null
mark small-sha256 "$(sha256sum /data/small.txt | cut -d' ' -f1)"
mark random-sha256 "$(sha256sum /data/random.bin | cut -d' ' -f1)"
mark random-size "$(stat -c %s /data/random.bin)"
mark root-df-used-kb "$(df -k / | awk 'NR == 2 { print $3 }')"
