#!/bin/sh
# hang_report.sh PID...: what a stuck scenario's processes are doing, printed as `E2E-HANG` lines
# just before a watchdog in L1 kills them, so a hang that happens once in a CI run can be told
# apart afterwards: a VMM whose threads sleep in futex_wait is deadlocked; one whose vCPU threads
# sit in KVM_RUN (wchan kvm_vcpu_halt/kvm_vcpu_block, or running and using CPU) has a guest that
# stopped making progress on its own. For PID and every descendant: one line per process and, for
# processes other than the shell tools, one line per thread with its state, wchan, CPU ticks used
# in the last second and the first kernel stack frames when /proc exposes them. Also creates
# /tmp/e2e-hung, which the L1 scenario runner checks to retry a hung scenario once.
: >/tmp/e2e-hung

# descendants PID: PID and all its descendants, one per line.
descendants() {
  echo "$1"
  for stat in /proc/[0-9]*/stat; do
    # Field 4 is the parent pid; the comm in field 2 may hold spaces, so cut after the last ')'.
    ppid=$(sed 's/.*) //' "$stat" 2>/dev/null | cut -d' ' -f2)
    [ "$ppid" = "$1" ] || continue
    child=${stat#/proc/}
    descendants "${child%/stat}"
  done
}

# ticks TASKDIR: utime + stime of a thread, in clock ticks.
ticks() {
  sed 's/.*) //' "$1/stat" 2>/dev/null | awk '{ print $12 + $13 }'
}

pids=$(for p in "$@"; do descendants "$p"; done)
before=""
for p in $pids; do
  for t in /proc/"$p"/task/*; do before="$before $t=$(ticks "$t")"; done
done
sleep 1
for p in $pids; do
  [ -d "/proc/$p" ] || continue
  comm=$(cat "/proc/$p/comm" 2>/dev/null)
  echo "E2E-HANG process $p $comm: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-160)"
  case $comm in sh | sleep | timeout | cat | grep) continue ;; esac
  for t in /proc/"$p"/task/*; do
    state=$(sed 's/.*) //' "$t/stat" 2>/dev/null | cut -d' ' -f1)
    was=$(echo "$before" | tr ' ' '\n' | grep "^$t=" | cut -d= -f2)
    now=$(ticks "$t")
    echo "E2E-HANG   thread ${t##*/} $(cat "$t/comm" 2>/dev/null) state=$state" \
      "wchan=$(cat "$t/wchan" 2>/dev/null) cpu-ticks-last-second=$((${now:-0} - ${was:-0}))"
    if [ -r "$t/stack" ]; then
      head -n 6 "$t/stack" | sed 's/^/E2E-HANG     /'
    fi
  done
done
