#!/bin/sh
# e2e scenario `fs`: mounts the virtio-fs share `e2e` (L1 directory $D/share) at /mnt, reads the
# files L1 put there (sha256), then creates, writes, renames, deletes, makes a directory and a
# symlink, writes 1000 small files and a 64 MiB file; L1 checks all of it on its side afterwards.
mark() { echo "MINIVMM-E2E $1=$2"; }
mkdir -p /mnt
if ! mount -t virtiofs e2e /mnt; then mark mount failed; exit 1; fi
mark mount ok
mark read-hello "$(cat /mnt/hello.txt)"
mark read-blob-sha256 "$(sha256sum /mnt/blob.bin | cut -d' ' -f1)"
echo created-in-guest >/mnt/new.txt && mark create ok
echo renamed-content >/mnt/before-rename.txt && mv /mnt/before-rename.txt /mnt/after-rename.txt && mark rename ok
rm /mnt/delete-me.txt && mark delete ok
mkdir -p /mnt/dir/sub && echo nested >/mnt/dir/sub/file.txt && mark mkdir ok
ln -s dir/sub/file.txt /mnt/link && mark symlink "$(cat /mnt/link)"
mkdir /mnt/many
i=0
while [ $i -lt 1000 ]; do echo "file-$i" >/mnt/many/f$i; i=$((i + 1)); done
mark many-written "$(ls /mnt/many | wc -l)"
dd if=/dev/urandom of=/tmp/big bs=1M count=64 2>/dev/null && cp /tmp/big /mnt/big.bin && mark big-sha256 "$(sha256sum /tmp/big | cut -d' ' -f1)"
rm -f /tmp/big
sync
# Read it back through the share (drop the guest's page cache first).
echo 3 >/proc/sys/vm/drop_caches
mark big-readback-sha256 "$(sha256sum /mnt/big.bin | cut -d' ' -f1)"
umount /mnt && mark umount ok
