#!/bin/sh
# e2e scenario `api-two-machines`: prints its CPU count and cmdline tag, `hold-start`, then holds
# until a console line arrives (the driver sends one once both machines hold) or 60 s pass, and
# prints `hold-end`. Both machines holding at once shows they ran at the same time.
tag=
for word in $(cat /proc/cmdline); do
  case "$word" in e2e.tag=*) tag=${word#e2e.tag=} ;; esac
done
echo "MINIVMM-E2E nproc=$(grep -c '^processor' /proc/cpuinfo)"
echo "MINIVMM-E2E tag=$tag"
echo "MINIVMM-E2E hold-start=1"
line=
read -r -t 60 line
echo "MINIVMM-E2E hold-end=${line:-timeout}"
