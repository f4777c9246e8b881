#!/bin/sh
# e2e scenario `disk-full`: /dev/vda is a 64 MiB sparse file on a 16 MiB tmpfs in L1. Writing 32 MiB
# must fail with I/O errors (the host filesystem is full), and the VM must keep running: reads
# still work, the guest prints `full-alive` and reboots, and the VMM exits 0.
mark() { echo "MINIVMM-E2E $1=$2"; }
mark full-sectors "$(cat /sys/block/vda/size 2>/dev/null)"
dd if=/dev/urandom of=/tmp/chunk bs=1M count=1 2>/dev/null
chunk_sha=$(sha256sum /tmp/chunk | cut -d' ' -f1)
i=0 failed_at=
while [ $i -lt 32 ]; do
  if ! dd if=/tmp/chunk of=/dev/vda bs=1M seek=$i count=1 oflag=direct conv=notrunc 2>/tmp/err; then
    failed_at=$i
    break
  fi
  i=$((i + 1))
done
if [ -n "$failed_at" ]; then
  mark full-write failed
  mark full-failed-at-mib "$failed_at"
  mark full-write-error "$(grep -v records /tmp/err | head -n1)"
else
  mark full-write succeeded
fi
# Buffered writes beyond the full point: the error must come back from fsync (no FLUSH may report
# success for data the host could not store).
if dd if=/tmp/chunk of=/dev/vda bs=1M seek=40 count=1 conv=notrunc,fsync 2>/tmp/err; then
  mark full-fsync succeeded
else
  mark full-fsync failed
  mark full-fsync-error "$(grep -v records /tmp/err | head -n1)"
fi
mark full-dmesg-ioerrors "$(dmesg | grep -c 'I/O error')"
dmesg | grep 'I/O error' | head -n3
# The disk still answers: the first MiB (written before the host filesystem filled up) reads back.
mark full-readback-ok "$([ "$(dd if=/dev/vda bs=1M count=1 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)" = "$chunk_sha" ] && echo yes || echo no)"
mark full-alive yes
