#!/bin/sh
# e2e scenario `fs-kill`: reads the share in a loop; L1 kills virtiofsd meanwhile. The guest must
# see errors (not hang), and the VM must reboot normally.
mark() { echo "MINIVMM-E2E $1=$2"; }
mkdir -p /mnt
mount -t virtiofs e2e /mnt || { mark mount failed; exit 1; }
mark read-before "$(cat /mnt/hello.txt)"
echo "MINIVMM-E2E reading"
errors=0
i=0
while [ $i -lt 600 ]; do
  if ! cat /mnt/hello.txt >/dev/null 2>&1 || ! ls /mnt >/dev/null 2>&1; then
    errors=$((errors + 1))
    [ $errors -ge 3 ] && break
  fi
  i=$((i + 1))
  sleep 0.05
done
mark read-errors "$errors"
mark alive yes
