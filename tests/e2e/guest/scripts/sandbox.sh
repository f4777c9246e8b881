#!/bin/sh
# The quick-start sandbox (boot with `e2e.script=sandbox`): greets, shows what the guest sees,
# runs a tiny workload, and lets /init reboot. scripts/quickstart.sh boots this.
echo "=== hello from a minivmm sandbox ==="
echo "kernel:  $(uname -sr)"
echo "vCPUs:   $(grep -c '^processor' /proc/cpuinfo)"
echo "memory:  $(awk '/^MemTotal:/ { print $2 " kB" }' /proc/meminfo)"
echo "cmdline: $(cat /proc/cmdline)"
echo "work:    $(seq 1 1000 | awk '{ s += $1 } END { print "sum(1..1000) = " s }')"
boot_mark 0x41
echo "MINIVMM-E2E sandbox=ok"
