#!/bin/sh
# e2e scenario `disk-ro`: /dev/vdb is attached read-only (serial e2e-ro) and holds an 8 MiB pattern
# written by L1. Reads must return it; writes (O_DIRECT and buffered+fsync) must fail.
mark() { echo "MINIVMM-E2E $1=$2"; }
mark ro-serial "$(cat /sys/block/vdb/serial 2>/dev/null)"
mark ro-sysfs-ro "$(cat /sys/block/vdb/ro 2>/dev/null)"
mark ro-sectors "$(cat /sys/block/vdb/size 2>/dev/null)"
mark ro-read-sha256 "$(dd if=/dev/vdb bs=1M count=8 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)"
if dd if=/dev/zero of=/dev/vdb bs=4096 count=1 oflag=direct conv=notrunc 2>/tmp/err; then
  mark ro-write-direct succeeded
else
  mark ro-write-direct failed
  mark ro-write-direct-error "$(head -n1 /tmp/err)"
fi
if dd if=/dev/zero of=/dev/vdb bs=4096 seek=100 count=1 conv=notrunc,fsync 2>/tmp/err; then
  mark ro-write-buffered succeeded
else
  mark ro-write-buffered failed
  mark ro-write-buffered-error "$(head -n1 /tmp/err)"
fi
# Read again after the write attempts: still the pattern.
mark ro-reread-sha256 "$(dd if=/dev/vdb bs=1M count=8 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)"
