#!/bin/sh
# e2e scenario `durability`: writes an 8 MiB pattern to /dev/vda through the page cache, then fsync
# (dd conv=fsync: FLUSH) and sync, prints `synced` and sleeps. L1 SIGKILLs the VMM as soon as it
# sees `synced` and checks that the image holds the pattern.
mark() { echo "MINIVMM-E2E $1=$2"; }
dd if=/dev/urandom of=/tmp/pattern bs=1M count=8 2>/dev/null
mark dur-sha256 "$(sha256sum /tmp/pattern | cut -d' ' -f1)"
if dd if=/tmp/pattern of=/dev/vda bs=1M conv=notrunc,fsync 2>/tmp/err; then
  mark dur-write ok
else
  mark dur-write failed
  mark dur-write-error "$(tail -n1 /tmp/err)"
fi
sync
echo "MINIVMM-E2E synced"
sleep 600
