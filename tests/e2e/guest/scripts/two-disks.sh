#!/bin/sh
# e2e scenario `two-disks`: two writable raw disks, /dev/vda (8 MiB, serial e2e-a) and /dev/vdb
# (12 MiB, serial e2e-b). Writes 4 MiB of distinct random data to the start of each and a tag into
# each one's last sector (O_DIRECT), reads both back, and prints checksums for L1 to compare.
mark() { echo "MINIVMM-E2E $1=$2"; }
for d in vda vdb; do
  mark $d-serial "$(cat /sys/block/$d/serial 2>/dev/null)"
  sectors=$(cat /sys/block/$d/size 2>/dev/null)
  mark $d-sectors "$sectors"
  dd if=/dev/urandom of=/tmp/$d.bin bs=1M count=4 2>/dev/null
  mark $d-sha256 "$(sha256sum /tmp/$d.bin | cut -d' ' -f1)"
  if dd if=/tmp/$d.bin of=/dev/$d bs=1M oflag=direct conv=notrunc,fsync 2>/tmp/err; then
    mark $d-write ok
  else
    mark $d-write failed
    mark $d-write-error "$(tail -n1 /tmp/err)"
  fi
  # The last sector: must be writable (not off by one at the capacity check).
  if printf 'E2E-LAST-SECTOR-%s' $d | dd of=/dev/$d bs=512 seek=$((sectors - 1)) count=1 \
       conv=sync,notrunc,fsync oflag=direct 2>/tmp/err; then
    mark $d-last-sector-write ok
  else
    mark $d-last-sector-write failed
    mark $d-last-sector-error "$(tail -n1 /tmp/err)"
  fi
done
for d in vda vdb; do
  mark $d-readback-sha256 "$(dd if=/dev/$d bs=1M count=4 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)"
  mark $d-last-sector "$(dd if=/dev/$d bs=512 skip=$(($(cat /sys/block/$d/size) - 1)) count=1 iflag=direct 2>/dev/null | tr -d '\000')"
done
