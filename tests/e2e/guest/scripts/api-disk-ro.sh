#!/bin/sh
# e2e scenario `api-disk-swap` (read-only flag set through the API before start): /dev/vdb must
# be read-only to the guest and an O_DIRECT write must fail.
mark() { echo "MINIVMM-E2E $1=$2"; }
mark ro-sysfs-ro "$(cat /sys/block/vdb/ro 2>/dev/null)"
if dd if=/dev/zero of=/dev/vdb bs=4096 count=1 oflag=direct conv=notrunc 2>/dev/null; then
  mark ro-write succeeded
else
  mark ro-write failed
fi
mark ro-sha256 "$(dd if=/dev/vdb bs=1M iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)"
