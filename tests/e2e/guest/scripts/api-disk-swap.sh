#!/bin/sh
# e2e scenario `api-disk-swap`: reads /dev/vdb with O_DIRECT (sha256), prints ready-for-swap and
# waits until its capacity changes (the driver's Machine::replace_disk announces the new file with
# a config-change interrupt), then reads it again with O_DIRECT: the new file's sha256.
mark() { echo "MINIVMM-E2E $1=$2"; }
sha() { dd if=/dev/vdb bs=1M iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1; }
before=$(cat /sys/block/vdb/size)
mark swap-sectors-before "$before"
mark swap-sha256-before "$(sha)"
mark ready-for-swap 1
i=0
while [ "$(cat /sys/block/vdb/size)" = "$before" ]; do
  i=$((i + 1))
  if [ $i -ge 600 ]; then mark error capacity-never-changed; exit 1; fi
  sleep 0.1
done
mark swap-sectors-after "$(cat /sys/block/vdb/size)"
mark swap-sha256-after "$(sha)"
