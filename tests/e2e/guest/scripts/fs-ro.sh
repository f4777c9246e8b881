#!/bin/sh
# e2e scenario `fs-ro`: a read-only share: reads work, every kind of write fails.
mark() { echo "MINIVMM-E2E $1=$2"; }
mkdir -p /mnt
mount -t virtiofs e2e /mnt || { mark mount failed; exit 1; }
mark read-hello "$(cat /mnt/hello.txt)"
echo x >/mnt/new.txt 2>/dev/null && mark ro-create succeeded || mark ro-create failed
echo x >>/mnt/hello.txt 2>/dev/null && mark ro-append succeeded || mark ro-append failed
rm /mnt/hello.txt 2>/dev/null && mark ro-delete succeeded || mark ro-delete failed
mkdir /mnt/d 2>/dev/null && mark ro-mkdir succeeded || mark ro-mkdir failed
mark read-hello-after "$(cat /mnt/hello.txt)"
umount /mnt
